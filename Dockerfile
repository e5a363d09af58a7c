# One image for the web service (gunicorn) and the worker (celery); the command picks the role.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY requirements.txt .
RUN python -m venv /opt/venv && /opt/venv/bin/pip install -r requirements.txt

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=migrayt.settings \
    MIGRAYT_ENV=production \
    MIGRAYT_VAR_DIR=/tmp/migrayt \
    PORT=8000
RUN groupadd --system --gid 10001 migrayt && useradd --system --uid 10001 --gid migrayt --no-create-home migrayt
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=migrayt:migrayt . .
# Static files are collected at build time with a throw-away key; real secrets come at run time.
RUN DJANGO_SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-0000 DJANGO_ALLOWED_HOSTS=build \
    python manage.py collectstatic --noinput && chown -R migrayt:migrayt /tmp/migrayt
USER migrayt
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os,urllib.request,sys; sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8000\")}/healthz', timeout=4).status == 200 else 1)"
# Web (default). The worker runs the same image with:
#   celery -A migrayt worker --loglevel=INFO --concurrency=4 --without-gossip --without-mingle
CMD ["sh", "-c", "exec gunicorn migrayt.wsgi:application --bind 0.0.0.0:${PORT} --workers 3 --access-logfile - --forwarded-allow-ips='*'"]
