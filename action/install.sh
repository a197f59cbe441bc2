#!/usr/bin/env bash
# Install tierscan from the action's own checkout into a (cached) virtual environment.
# Inputs (environment): ACTION_PATH (the action checkout), TIERSCAN_VENV (venv dir).
set -euo pipefail
venv="${TIERSCAN_VENV:?TIERSCAN_VENV is not set}"
if [ -x "$venv/bin/tierscan" ] && "$venv/bin/tierscan" --version >/dev/null 2>&1; then
  echo "tierscan: using cached environment $venv ($("$venv/bin/tierscan" --version))"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "${ACTION_PATH:?ACTION_PATH is not set}"
"$venv/bin/tierscan" --version
