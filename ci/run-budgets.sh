#!/usr/bin/env bash
# Run one agentload profile headless against BASE_URL and keep its reports, in any CI system.
#
# Writes $REPORT_DIR/<profile>.json, <profile>.junit.xml and <profile>.html (stale ones are removed
# first, so an artifact never shows an older run) and exits with Locust's status unchanged:
#   0 pass, 1 a budget failed, 2 configuration error, 3 run incomplete (anything else: a crash).
# When GITHUB_STEP_SUMMARY is set the suite appends its Markdown summary there itself.
#
# Environment (all optional):
#   PROFILE      budgets (default), load or stress: runs locustfiles/<profile>.py, names the reports
#   TIME_SCALE   divide every profile duration by this factor (default 1 = real time)
#   LOCUSTFILE   a different locustfile (default locustfiles/<profile>.py)
#   LOCUST_ARGS  extra Locust/agentload flags, split on spaces, e.g. "--budgets ci-budgets.yaml"
#   REPORT_DIR   where the reports go (default reports)
#   BASE_URL     the target; when empty, the URL ci/start-platform.sh wrote to platform.url
#   AGENTLOAD_CI_DIR, VENV  see ci/lib.sh
# The suite itself reads TEST_USER_ID, CLERK_ID, INTERNAL_SYSTEM_KEY and INFLUX_* from the
# environment; this script never prints them, nor the credentials or query of BASE_URL.
# Relative paths are relative to the repository root.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$AGENTLOAD_ROOT"

profile="${PROFILE:-budgets}"
case "$profile" in
  '' | *[!A-Za-z0-9_.-]*) die 2 "PROFILE must be a plain name like budgets, load or stress" ;;
esac
time_scale="${TIME_SCALE:-1}"
locustfile="$(abspath "${LOCUSTFILE:-locustfiles/$profile.py}")"
report_dir="$(abspath "${REPORT_DIR:-reports}")"
[ -f "$locustfile" ] || die 2 "no locustfile $locustfile (PROFILE=$profile, LOCUSTFILE=${LOCUSTFILE:-})"

target="${BASE_URL:-}"
url_file="$(state_dir)/platform.url"
if [ -z "$target" ] && [ -s "$url_file" ]; then
  target="$(cat "$url_file")"
fi
[ -n "$target" ] || die 2 "no target: set BASE_URL or run ci/start-platform.sh first"

locust="$(venv_tool locust)"
[ -n "$locust" ] || die 2 "locust not found: run ci/install.sh first"

extra=()
if [ -n "${LOCUST_ARGS:-}" ]; then
  read -r -a extra <<<"$LOCUST_ARGS"
fi

mkdir -p "$report_dir"
json="$report_dir/$profile.json"
junit="$report_dir/$profile.junit.xml"
html="$report_dir/$profile.html"
rm -f "$json" "$junit" "$html"

# The target goes through the environment, not argv (argv is visible to every process): the suite
# reads BASE_URL; Locust's --host (LOCUST_HOST) is set only for URLs without credentials, because
# Locust shows the host in its HTML report.
export BASE_URL="$target"
if has_credentials "$target"; then
  unset LOCUST_HOST
else
  export LOCUST_HOST="$target"
fi

safe_target="$(redact_url "$target")"
log "profile $profile ($locustfile) against $safe_target at time scale $time_scale"
log "reports: $json, $junit, $html"
status=0
"$locust" -f "$locustfile" --headless --time-scale "$time_scale" \
  --report-json "$json" --report-junit "$junit" --html "$html" \
  ${extra[@]+"${extra[@]}"} || status=$?

case "$status" in
  0) meaning="pass" ;;
  1) meaning="a budget failed" ;;
  2) meaning="configuration error" ;;
  3) meaning="run incomplete" ;;
  *) meaning="locust failed" ;;
esac
log "exit $status ($meaning)"
exit "$status"
