#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what the tests need (Debian packages, the pinned agent
# CLIs from npm), builds, runs the xunit suite, and ends with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: git for real repositories, setsid (util-linux) to run agents in their own process group,
# Chromium for the phone app's browser test (Debian's build; no browser is ever downloaded by the tests).
missing=()
command -v git >/dev/null 2>&1 || missing+=(git)
command -v setsid >/dev/null 2>&1 || missing+=(util-linux)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# The REAL agent CLIs, pinned in tests/agents/package-lock.json; they talk only to tests/FakeLlm.
echo "==> installing the agent CLIs the tests drive"
(cd tests/agents && npm ci --no-audit --no-fund --loglevel=error)

# The phone app's npm packages (the .NET build would install them too; explicit here for vitest).
echo "==> installing the web app's packages"
(cd web && npm ci --no-audit --no-fund --loglevel=error)

echo "==> building (the server, and the web app into src/PocketCoder/wwwroot)"
dotnet build PocketCoder.slnx -c Release --nologo -v quiet

echo "==> running the web app's unit tests (vitest)"
web_log=$(mktemp)
web_status=0
(cd web && npx vitest run) 2>&1 | tee "$web_log" || web_status=$?
# vitest: "      Tests  23 passed (23)" or "      Tests  1 failed | 22 passed (23)".
web_summary=$(grep -E '^\s*Tests\s' "$web_log" | tail -1 || true)
web_passed=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$web_summary")
web_failed=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$web_summary")
web_passed=${web_passed:-0}
web_failed=${web_failed:-0}
if [ "$web_status" != 0 ] && [ "$web_failed" = 0 ]; then web_failed=1; fi
rm -f "$web_log"

echo "==> running the tests (xunit, including the browser test: web/e2e/run.mjs in Chromium)"
log=$(mktemp)
status=0
dotnet test PocketCoder.slnx -c Release --no-build --nologo --logger "console;verbosity=normal" 2>&1 | tee "$log" || status=$?

# dotnet prints one summary per test assembly: "Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12 ...".
read -r passed failed skipped < <(grep -E '^\s*(Passed|Failed)!\s+-\s+Failed:' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\2 \1 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
rm -f "$log"
passed=$((passed + web_passed))
failed=$((failed + web_failed))
if [ "$web_status" != 0 ]; then status=1; fi
if [ "$passed" = 0 ] && [ "$status" = 0 ]; then
  echo "no test ran" >&2
  status=1
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
