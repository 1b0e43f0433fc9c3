#!/usr/bin/env bash
# The whole test suite: unit, service-backed integration, and terraform plans, in one jest run.
# Brings the local services up when they are not running, and stops them again afterwards if it started them.
# Extra arguments go to jest (e.g. `npm test -- --selectProjects unit`).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# Known and tracked (README: toolchain): the AWS SDK warns once per process that it will need Node 22 in 2027.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

started=0
if ! bash scripts/services.sh status >/dev/null 2>&1; then
  bash scripts/services.sh up || exit 1
  started=1
fi
cleanup() { if [[ $started -eq 1 ]]; then started=0; bash scripts/services.sh down; fi; }
trap cleanup EXIT

mkdir -p .local
result=.local/jest-result.json
rm -f "$result"
npx jest --json --outputFile="$result" "$@"
status=$?
cleanup

# One plain closing line for CI, counted from jest's JSON result rather than its human summary.
if [[ -f "$result" ]]; then
  # A suite that fails to run (a syntax error, a missing file) has no failed test of its own: count it as one.
  node -e 'const r = require(process.argv[1]); console.log(`${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed`);' "$root/$result"
else
  echo "0 passed, 1 failed"
  status=1
fi
exit $status
