#!/usr/bin/env bash
# Install agentload into a virtualenv for a CI job (any CI system; also fine on a laptop).
#
# Creates the venv when it is missing and refreshes it otherwise (upgrades pip, reinstalls the
# project editable), so later ci/*.sh steps find `python` and `locust` in it.
#
# Environment (all optional):
#   VENV    virtualenv folder (default .venv, relative to the repository root)
#   PYTHON  interpreter that creates the venv (default python3; on GitHub: the setup-python one)
#   EXTRAS  pip extras to install (default "influx" for the InfluxDB listener; empty: plain ".")
#   PIP_QUIET  set to 0 for pip's full output
#
# On GitHub Actions the venv's bin/ is also appended to $GITHUB_PATH for later steps.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$AGENTLOAD_ROOT"

python="${PYTHON:-python3}"
venv="$(venv_dir)"
extras="${EXTRAS-influx}"
quiet=()
if [ "${PIP_QUIET:-1}" != "0" ]; then
  quiet=(--quiet)
fi

command -v "$python" >/dev/null 2>&1 || die 2 "PYTHON=$python not found"

if [ -x "$venv/bin/python" ]; then
  log "refreshing the virtualenv $venv"
else
  log "creating the virtualenv $venv with $python"
  "$python" -m venv "$venv"
fi

"$venv/bin/python" -m pip install ${quiet[@]+"${quiet[@]}"} --upgrade pip
if [ -n "$extras" ]; then
  target=".[$extras]"
else
  target="."
fi
log "pip install -e '$target'"
"$venv/bin/python" -m pip install ${quiet[@]+"${quiet[@]}"} -e "$target"

if [ -n "${GITHUB_PATH:-}" ]; then
  printf '%s\n' "$venv/bin" >>"$GITHUB_PATH"
fi
"$venv/bin/python" -c 'import agentload, locust; print("installed agentload", agentload.__version__, "with locust", locust.__version__)'
