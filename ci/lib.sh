# shellcheck shell=bash
# Shared helpers for the ci/*.sh scripts: sourced by them, not run on its own.
#
# Defines the repository root, where the scripts keep their state (the reference platform's PID,
# URL and log), how they find Python and Locust (the venv from ci/install.sh first, then PATH),
# and a URL redactor so no credential in BASE_URL ever reaches a log.
#
# Environment (all optional):
#   VENV              virtualenv made by ci/install.sh (default .venv, relative to the repo root)
#   AGENTLOAD_CI_DIR  state folder of the scripts (default reports/ci, relative to the repo root)

AGENTLOAD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPT_NAME="$(basename "$0")"

# One line on stderr, prefixed with the script's name (stdout is kept for BASE_URL=... lines).
log() {
  printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2
}

# die CODE MESSAGE...: log the message and exit with CODE.
die() {
  local code=$1
  shift
  log "$*"
  exit "$code"
}

# abspath PATH: PATH made absolute against the repository root (absolute paths unchanged).
abspath() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$AGENTLOAD_ROOT/$1" ;;
  esac
}

venv_dir() {
  abspath "${VENV:-.venv}"
}

state_dir() {
  abspath "${AGENTLOAD_CI_DIR:-reports/ci}"
}

# The Python that has agentload installed: the venv's when it exists, else python3 from PATH.
python_bin() {
  local venv
  venv="$(venv_dir)"
  if [ -x "$venv/bin/python" ]; then
    printf '%s\n' "$venv/bin/python"
  elif command -v python3 >/dev/null 2>&1; then
    command -v python3
  else
    die 2 "no Python found: run ci/install.sh first or put python3 on PATH"
  fi
}

# A console script of the venv (e.g. locust), else the one on PATH; empty when there is none.
venv_tool() {
  local venv
  venv="$(venv_dir)"
  if [ -x "$venv/bin/$1" ]; then
    printf '%s\n' "$venv/bin/$1"
  else
    command -v "$1" || true
  fi
}

# redact_url URL: the URL without user:password@, query or fragment, safe to print.
# The URL goes through printf (a builtin) and a pipe, never through another program's argv.
redact_url() {
  printf '%s\n' "$1" | sed -E \
    -e 's#^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@#\1***@#' \
    -e 's#[?#].*$##'
}

# has_credentials URL: true when the URL carries user info (user:password@host).
has_credentials() {
  case "$1" in
    *://*@*)
      local rest=${1#*://}
      rest=${rest%%/*}
      case "$rest" in *@*) return 0 ;; esac
      return 1
      ;;
  esac
  return 1
}
