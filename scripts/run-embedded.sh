#!/usr/bin/env bash
# The embedded default: SQLite + the embedded filesystem broker, the demo practice, the web
# server, one Celery worker for the steps (queue `default`) and a small one for the reaper
# (queue `reaper`, with beat): a long copy holding the step worker's slots never delays the
# reaper. A worker that dies is started again (said here and in var/log/worker.log or
# var/log/reaper.log, which are kept between runs). Ctrl-C stops everything within 10 s: TERM, a wait, then KILL of the group
# (Celery's main process can hang in its pool's shutdown). JULIEOPS_VAR_DIR moves var/.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
export DEBUG=${DEBUG:-1}
PORT=${PORT:-8000}
VAR=${JULIEOPS_VAR_DIR:-var}
LOG=$VAR/log/worker.log
REAPER_LOG=$VAR/log/reaper.log
REAPER_QUEUE=${JULIEOPS_REAPER_QUEUE:-reaper}
STOP_GRACE=${STOP_GRACE:-8} # seconds given to TERM before KILL (the whole stop stays < 10 s)

"$PY" manage.py compilemessages -v 0 -i .venv -i var
"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py demo

mkdir -p "$VAR/log"
say_in() { # log, words: a line in the terminal and in that log (Django's time zone)
  local log=$1
  shift
  echo "run: $*"
  echo "$(TZ=${TIME_ZONE:-Europe/Paris} date '+%Y-%m-%d %H:%M:%S') run-embedded: $*" >>"$log"
}
say() { say_in "$LOG" "$@"; }
alive() { kill -0 "$1" 2>/dev/null; }

TRAINING_LOG=$VAR/log/training.log
training=''
start_training() {
  # The training practice's simulated Windows posts (HTTPS on 127.0.0.11-15), made by `demo`.
  setsid "$PY" -m training --state "$VAR/training" serve >>"$TRAINING_LOG" 2>&1 </dev/null &
  training=$!
}

worker='' web='' sleeper='' started=0 restarts=0 delay=1
reaper='' reaper_started=0 reaper_restarts=0 reaper_delay=1
start_worker() {
  # Own session and process group: the terminal's Ctrl-C reaches only this script, which
  # then stops the worker and its pool together.
  setsid "$VENV/bin/celery" -A julieops worker -Q default -c 2 --loglevel INFO \
    -n "steps@%h" >>"$LOG" 2>&1 </dev/null &
  worker=$!
  started=$SECONDS
}
start_reaper() {
  # One process (solo pool) with beat: it sends reap-runs every 15 s and takes it at once.
  setsid "$VENV/bin/celery" -A julieops worker -B -Q "$REAPER_QUEUE" --pool solo \
    -n "reaper@%h" --loglevel INFO -s "$VAR/celerybeat-schedule" >>"$REAPER_LOG" 2>&1 </dev/null &
  reaper=$!
  reaper_started=$SECONDS
}

stop_group() { # pid: TERM the leader, wait up to STOP_GRACE s, then KILL its whole group
  local pid=$1 deadline=$((SECONDS + STOP_GRACE))
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stopping=0
stop_all() {
  [ "$stopping" = 1 ] && return
  stopping=1
  trap '' INT TERM
  say "stopping the web server and the workers"
  [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null || true
  [ -z "$web" ] || kill -TERM -- "-$web" 2>/dev/null || true
  stop_group "$worker" &
  local w=$!
  stop_group "$reaper" &
  local r=$!
  stop_group "$training" &
  stop_group "$web" &
  wait "$w" "$r" || true
  wait || true
  say "stopped"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

start_worker
say "worker started (pid $worker, log $LOG)"
start_reaper
say_in "$REAPER_LOG" "reaper started (pid $reaper, queue $REAPER_QUEUE, with beat, log $REAPER_LOG)"
start_training
say_in "$TRAINING_LOG" "training simulator started (pid $training, log $TRAINING_LOG)"
setsid "$PY" manage.py runserver "127.0.0.1:$PORT" </dev/null &
web=$!
echo "run: open http://127.0.0.1:$PORT/ — Ctrl-C stops the web server and the workers"

while true; do
  sleep 1 &
  sleeper=$!
  wait $sleeper || true # interrupted at once by Ctrl-C (the trap runs)
  if ! alive "$web"; then
    status=0
    wait "$web" || status=$?
    web=''
    say "the web server exited (status $status); stopping"
    exit "$status"
  fi
  if ! alive "$worker"; then
    status=0
    wait "$worker" || status=$?
    kill -KILL -- "-$worker" 2>/dev/null || true # its pool and beat, if left behind
    # Quick deaths in a row (a worker that cannot start) are retried less and less often.
    if [ $((SECONDS - started)) -ge 60 ]; then delay=1; fi
    restarts=$((restarts + 1))
    say "WORKER DIED (pid $worker, status $status) after $((SECONDS - started)) s;" \
      "restart #$restarts in $delay s — see $LOG"
    sleep "$delay" &
    sleeper=$!
    wait $sleeper || true
    delay=$((delay * 2 > 30 ? 30 : delay * 2))
    start_worker
    say "worker restarted (pid $worker)"
  fi
  if ! alive "$training"; then
    wait "$training" || true
    kill -KILL -- "-$training" 2>/dev/null || true
    say_in "$TRAINING_LOG" "TRAINING SIMULATOR DIED (pid $training); restarting in 2 s"
    sleep 2 &
    sleeper=$!
    wait $sleeper || true
    start_training
  fi
  if ! alive "$reaper"; then
    status=0
    wait "$reaper" || status=$?
    kill -KILL -- "-$reaper" 2>/dev/null || true
    if [ $((SECONDS - reaper_started)) -ge 60 ]; then reaper_delay=1; fi
    reaper_restarts=$((reaper_restarts + 1))
    say_in "$REAPER_LOG" "REAPER DIED (pid $reaper, status $status) after" \
      "$((SECONDS - reaper_started)) s; restart #$reaper_restarts in $reaper_delay s — see $REAPER_LOG"
    sleep "$reaper_delay" &
    sleeper=$!
    wait $sleeper || true
    reaper_delay=$((reaper_delay * 2 > 30 ? 30 : reaper_delay * 2))
    start_reaper
    say_in "$REAPER_LOG" "reaper restarted (pid $reaper)"
  fi
done
