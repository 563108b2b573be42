#!/usr/bin/env bash
# The embedded default: SQLite + filesystem broker, the demo practice, the web server and one
# Celery worker (with its beat for the reaper) side by side. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
export DEBUG=${DEBUG:-1}
PORT=${PORT:-8000}

"$PY" manage.py compilemessages -v 0 -i .venv -i var
"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py demo

mkdir -p var/log
"$VENV/bin/celery" -A julieops worker -B -Q default -c 2 --loglevel INFO \
  -s var/celerybeat-schedule >var/log/worker.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM
echo "run: worker started (pid $worker, log var/log/worker.log)"
echo "run: open http://127.0.0.1:$PORT/ — Ctrl-C stops the web server and the worker"
"$PY" manage.py runserver "127.0.0.1:$PORT"
