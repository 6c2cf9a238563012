#!/usr/bin/env bash
# Make sure there is a target for the budget run, in any CI system.
#
# BASE_URL empty: start the embedded reference platform in the background on a free port
#   (`python -m agentload.platform --port 0`), wait for its "listening on" line with a deadline,
#   then write the URL to $AGENTLOAD_CI_DIR/platform.url, print "BASE_URL=<url>" on stdout and,
#   on GitHub Actions, append the same line to $GITHUB_ENV. The PID goes to platform.pid and the
#   platform's stderr to platform.log; ci/stop-platform.sh stops it. Running this twice reuses
#   the platform that is still up.
# BASE_URL set (a real deployment): check that GET $BASE_URL/api/health answers 2xx within
#   HEALTH_TIMEOUT seconds. The URL is never printed with its credentials or query.
#
# Environment (all optional):
#   BASE_URL                  target deployment; empty means "use the reference platform"
#   START_TIMEOUT             seconds to wait for the platform to listen (default 30)
#   HEALTH_TIMEOUT            seconds to wait for a deployment's health check (default 60)
#   AGENTLOAD_PLATFORM_HOST   interface the reference platform binds (default 127.0.0.1)
#   AGENTLOAD_PLATFORM_ARGS   extra flags for the platform, e.g. "--slots 64" (split on spaces)
#   AGENTLOAD_CI_DIR, VENV    see ci/lib.sh
#   INTERNAL_SYSTEM_KEY       passed to the platform through the environment, as the suite uses it
#
# Exit status: 0 ready, 2 bad configuration, 3 the target is not reachable / did not start.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$AGENTLOAD_ROOT"

start_timeout="${START_TIMEOUT:-30}"
health_timeout="${HEALTH_TIMEOUT:-60}"
state="$(state_dir)"
pid_file="$state/platform.pid"
url_file="$state/platform.url"
ready_file="$state/platform.out"
log_file="$state/platform.log"
python="$(python_bin)"

case "$start_timeout$health_timeout" in
  *[!0-9]*) die 2 "START_TIMEOUT and HEALTH_TIMEOUT must be whole seconds" ;;
esac

# publish URL: tell later steps where the target is.
publish() {
  printf '%s\n' "$1" >"$url_file"
  if [ -n "${GITHUB_ENV:-}" ]; then
    printf 'BASE_URL=%s\n' "$1" >>"$GITHUB_ENV"
  fi
  printf 'BASE_URL=%s\n' "$1"
}

mkdir -p "$state"

if [ -n "${BASE_URL:-}" ]; then
  case "$BASE_URL" in
    *$'\n'* | *$'\r'*) die 2 "BASE_URL must be one line" ;;
  esac
  safe_url="$(redact_url "$BASE_URL")"
  safe_url="${safe_url%/}"
  log "BASE_URL is set: checking $safe_url/api/health (up to ${health_timeout}s)"
  status=0
  BASE_URL="$BASE_URL" "$python" "$AGENTLOAD_ROOT/ci/check_health.py" --timeout "$health_timeout" || status=$?
  if [ "$status" -ne 0 ]; then
    die "$status" "the target $safe_url is not usable (status $status); not starting the load run"
  fi
  log "target $safe_url is reachable"
  exit 0
fi

old_pid=""
if [ -s "$pid_file" ]; then
  old_pid="$(cat "$pid_file")"
fi
if [ -n "$old_pid" ] && [ -s "$url_file" ] && kill -0 "$old_pid" 2>/dev/null; then
  url="$(cat "$url_file")"
  log "the reference platform is already running (pid $old_pid) at $url"
  publish "$url"
  exit 0
fi

extra=()
if [ -n "${AGENTLOAD_PLATFORM_ARGS:-}" ]; then
  read -r -a extra <<<"$AGENTLOAD_PLATFORM_ARGS"
fi

: >"$ready_file"
: >"$log_file"
# nohup: the platform must outlive this step (CI systems run each step in its own shell).
nohup "$python" -m agentload.platform --host "${AGENTLOAD_PLATFORM_HOST:-127.0.0.1}" --port 0 \
  ${extra[@]+"${extra[@]}"} </dev/null >"$ready_file" 2>"$log_file" &
pid=$!
printf '%s\n' "$pid" >"$pid_file"
log "starting the reference platform (pid $pid), waiting up to ${start_timeout}s for it to listen"

deadline=$((SECONDS + start_timeout))
url=""
while :; do
  url="$(sed -n 's/^agentload platform listening on //p' "$ready_file" | head -n 1)"
  if [ -n "$url" ]; then
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    status=0
    wait "$pid" || status=$?
    rm -f "$pid_file"
    log "the reference platform exited with status $status before listening; its log:"
    tail -n 20 "$log_file" >&2 || true
    if [ "$status" -eq 2 ]; then
      exit 2 # the platform's usage error: a bad AGENTLOAD_PLATFORM_ARGS
    fi
    exit 3
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    kill "$pid" 2>/dev/null || true
    rm -f "$pid_file"
    log "the reference platform did not listen within ${start_timeout}s; its log:"
    tail -n 20 "$log_file" >&2 || true
    exit 3
  fi
  sleep 0.1 # poll interval, not a fixed wait: the loop ends as soon as the line appears
done

log "the reference platform listens on $url (pid $pid, log $log_file)"
publish "$url"
