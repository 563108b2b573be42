#!/usr/bin/env bash
# Set up a fresh machine for JulieOps: system packages (tests only), a virtualenv, Python packages.
# Usage: scripts/bootstrap.sh [run|test]   (idempotent; fast when everything is present)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

# System packages the test suite drives for real: sshd, Samba, pcscd with a virtual reader,
# Chromium for browser tests, gettext for translations, rsync for benchmarks,
# Pango for WeasyPrint (PDF sign-off report; optional when running).
test_packages=(wrk openssh-server openssh-client samba smbclient pcscd vsmartcard-vpcd
  python3-virtualsmartcard python3-pycryptodome pcsc-tools libpcsclite-dev swig
  chromium fonts-dejavu-core gettext rsync libpango-1.0-0 libpangoft2-1.0-0)
run_packages=(gettext)

want=("${run_packages[@]}")
[ "$mode" = test ] && want=("${test_packages[@]}")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing system packages (run as root or install them): ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
fi
# Reinstall only when pyproject.toml (or this script) changed since the last install.
stamp="$VENV/.julieops-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ scripts/bootstrap.sh -nt "$stamp" ]; then
  "$VENV/bin/pip" install -q -e '.[dev]'
  touch "$stamp"
fi
# The project's bytecode, compiled here: where PYTHONDONTWRITEBYTECODE is set (as on this
# workplace's machines), Python would otherwise compile every module at every start, about
# 25 ms of each `manage.py mirror`. Up-to-date files are skipped; a stale .pyc is never used.
"$VENV/bin/python" -m compileall -q -j 0 julieops migrations_app readers training bench manage.py >/dev/null
