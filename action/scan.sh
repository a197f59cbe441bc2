#!/usr/bin/env bash
# The action's scan step. Runs tierscan once and writes, from that one scan:
#   - the SARIF log to upload (always),
#   - the report the user asked for (INPUT_FORMAT to INPUT_OUTPUT),
#   - the Markdown job summary (appended to $GITHUB_STEP_SUMMARY),
#   - the step outputs sarif-file, findings and exit-code (to $GITHUB_OUTPUT).
# It never fails the step itself: the action's last step does, from exit-code, so the
# SARIF upload and the summary happen even when findings fail the build.
set -uo pipefail
venv="${TIERSCAN_VENV:?TIERSCAN_VENV is not set}"
format="${INPUT_FORMAT:-sarif}"
output="${INPUT_OUTPUT:-tierscan.sarif}"
if [ "$format" = "sarif" ]; then sarif="$output"; else sarif="${RUNNER_TEMP:-/tmp}/tierscan.sarif"; fi
json="${RUNNER_TEMP:-/tmp}/tierscan-report.json"

args=(scan)
read -r -a targets <<< "${INPUT_PATH:-.}"
args+=("${targets[@]}")
args+=(--fail-on "${INPUT_FAIL_ON:-high}" --category "${INPUT_CATEGORY:-tierscan}")
[ -n "${INPUT_CONFIG:-}" ] && args+=(--config "$INPUT_CONFIG")
[ -n "${INPUT_BASELINE:-}" ] && args+=(--baseline "$INPUT_BASELINE")
args+=(--format "$format" --output "$output" --report "json=$json")
[ "$format" != "sarif" ] && args+=(--report "sarif=$sarif")
[ -n "${GITHUB_STEP_SUMMARY:-}" ] && args+=(--report "markdown=$GITHUB_STEP_SUMMARY")

"$venv/bin/tierscan" "${args[@]}"
code=$?
findings=$("$venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["outcomes"]["fail"])' "$json" 2>/dev/null || echo 0)
{
  echo "sarif-file=$sarif"
  echo "findings=$findings"
  echo "exit-code=$code"
} >> "${GITHUB_OUTPUT:-/dev/stdout}"
echo "tierscan: $findings failing findings, exit code $code"
exit 0
