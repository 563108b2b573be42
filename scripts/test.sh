#!/usr/bin/env bash
# Run the whole suite against real PostgreSQL and Redis (started here when they are down).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
export SECRET_KEY=${SECRET_KEY:-test-secret-key-not-for-production}
# A fixed test key: the suite proves encryption by reading raw columns.
export JULIEOPS_FERNET_KEYS=${JULIEOPS_FERNET_KEYS:-Wc1_xS7WzY1m0fLwXsD2oU9xQ6zj1hJcYkqYVx0mJ8k=}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-$TEST_REDIS_URL}
export JULIEOPS_EXTRA_STEP_MODULES=tests.support.probe_steps
export DEBUG=0 SECURE_COOKIES=0 ALLOWED_HOSTS=${ALLOWED_HOSTS:-localhost,127.0.0.1,testserver}

pg_up() { "$VENV/bin/python" - <<'PY'
import os, sys, psycopg
try:
    psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=3).close()
except Exception as exc:
    print(exc, file=sys.stderr); sys.exit(1)
PY
}
if ! pg_up 2>/dev/null; then
  echo "test: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 30); do pg_up 2>/dev/null && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "test: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/redis-ci.log
  for _ in $(seq 30); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

"$VENV/bin/python" manage.py compilemessages -v 0 -i .venv -i var
"$VENV/bin/python" manage.py collectstatic --noinput -v 0
"$VENV/bin/ruff" check . && "$VENV/bin/ruff" format --check . || { echo "test: ruff found problems"; exit 1; }
exec "$VENV/bin/python" -m pytest "$@"
