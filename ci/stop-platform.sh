#!/usr/bin/env bash
# Stop the reference platform that ci/start-platform.sh started, in any CI system.
#
# Idempotent: no PID file, or a process that is already gone, is not an error (run it with
# `if: always()` / in an after-script). Sends SIGTERM (the platform shuts down cleanly), waits up
# to STOP_TIMEOUT seconds (default 10), then SIGKILL. Refuses to signal a PID that the platform no
# longer owns (a recycled PID). Keeps platform.log for the artifacts.
#
# Environment (all optional): STOP_TIMEOUT; AGENTLOAD_CI_DIR and VENV, see ci/lib.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$AGENTLOAD_ROOT"

stop_timeout="${STOP_TIMEOUT:-10}"
state="$(state_dir)"
pid_file="$state/platform.pid"

case "$stop_timeout" in
  '' | *[!0-9]*) die 2 "STOP_TIMEOUT must be whole seconds" ;;
esac

cleanup() {
  rm -f "$pid_file" "$state/platform.url" "$state/platform.out"
}

if [ ! -s "$pid_file" ]; then
  log "no reference platform to stop"
  cleanup
  exit 0
fi
pid="$(cat "$pid_file")"
case "$pid" in
  '' | *[!0-9]*)
    log "ignoring a malformed PID file"
    cleanup
    exit 0
    ;;
esac

# alive PID: the process exists and is not a zombie waiting for its (former) parent.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  if [ -r "/proc/$1/stat" ]; then
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [ "${stat%% *}" != "Z" ] || return 1
  fi
  return 0
}

if ! alive "$pid"; then
  log "the reference platform (pid $pid) has already stopped"
  cleanup
  exit 0
fi
if [ -r "/proc/$pid/cmdline" ] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'agentload'; then
  log "pid $pid is no longer the reference platform; leaving it alone"
  cleanup
  exit 0
fi

log "stopping the reference platform (pid $pid)"
kill -TERM "$pid" 2>/dev/null || true
deadline=$((SECONDS + stop_timeout))
while alive "$pid"; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    log "still running after ${stop_timeout}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.1
done
cleanup
log "stopped"
