# JulieOps — `make run` (dashboard, embedded defaults) and `make test` (whole suite).
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONUNBUFFERED := 1

.PHONY: run test lint format messages bench clean

run:
	scripts/bootstrap.sh run
	scripts/run-embedded.sh

test:
	scripts/bootstrap.sh test
	scripts/test.sh $(ARGS)

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

messages:
	$(PY) manage.py makemessages -l fr --no-obsolete -i .venv -i var -i tests -i bench
	$(PY) manage.py compilemessages -i .venv -i var

bench:
	scripts/bootstrap.sh test
	$(PY) -m bench

clean:
	rm -rf var/demo var/broker var/julieops.sqlite3*
