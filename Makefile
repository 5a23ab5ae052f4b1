# The README's two commands: `make run` and `make test`. Both do all set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test test-fast setup index system-packages lint eval audit clean thesaurus

run: setup index
	@echo "Chat startet auf http://localhost:$(PORT) …"
	env -u CI $(BIN)/chainlit run bot/app.py --headless --host $(HOST) --port $(PORT)

test: setup lint index system-packages
	$(BIN)/python -m pytest -q -ra

# The quick tier: no embedding model, no server, no browser, no process of its own (tests/conftest.py
# marks the rest `slow` and fails a quick test that loads the model or starts a process).
test-fast: setup
	$(BIN)/python -m pytest -q -ra -m "not slow"

setup: $(STAMP)

# torch first (the CPU wheel on local disk), then chainlit, then the rest: every version pinned
# in requirements.lock, so pip resolves nothing and a fresh install takes minutes, not ten.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c requirements.lock chainlit
	$(BIN)/pip install --quiet -c requirements.lock -e ".[test]"
	touch $(STAMP)

# Incremental: an unchanged corpus is skipped in milliseconds.
index: setup
	$(BIN)/python -m bot index

# Real engines for the tests, from Debian: chromium (browser tests), postgresql (history on
# PostgreSQL), nginx (two chat workers behind a proxy). Installed only when missing; the
# packages' own services are not started (policy-rc.d): the tests start their own on 127.0.0.1.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium chromium-driver"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || missing="$$missing nginx"; \
	if [ -n "$$missing" ]; then \
		echo "Installiere Debian-Pakete für die Tests:$$missing"; \
		policy=/usr/sbin/policy-rc.d; own=""; \
		if [ ! -e $$policy ]; then printf '#!/bin/sh\nexit 101\n' > $$policy; chmod +x $$policy; own=1; fi; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) </dev/null; \
		status=$$?; [ -n "$$own" ] && rm -f $$policy; exit $$status; \
	fi

# Known vulnerabilities in the pinned dependencies (needs PyPI's JSON API or OSV): fails on an
# unaccepted finding and on any package it could not check. See docs/security.md.
audit:
	.ci/audit

# Style, format and types (mypy --strict over bot/, settings in pyproject.toml); `make test` runs it first.
lint: setup
	$(BIN)/ruff check bot tests
	$(BIN)/ruff format --check bot tests
	$(BIN)/mypy
	$(BIN)/python -m bot docs --check

# The OpenThesaurus table beside bot/pipeline/german.py, derived anew from Debian's mythes-de
# (only when the thesaurus is to be updated: the table is checked in, CI needs no apt for it).
thesaurus: setup
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mythes-de) </dev/null
	$(BIN)/python -c "from bot.pipeline.thesaurus import write_table; \
		print(write_table('$$(dpkg-query -W -f='$${Version}' mythes-de)'), 'Synonymgruppen')"

eval: setup index
	$(BIN)/python -m bot eval tests/gold/dev.jsonl tests/gold/holdout.jsonl

clean:
	rm -rf index .pytest_cache
