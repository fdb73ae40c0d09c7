#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what the tests need (Debian packages, the pinned agent
# CLIs from npm), builds, runs the xunit suite, and ends with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: git for real repositories, setsid (util-linux) to run agents in their own process group,
# tmux for the persistent project terminal.
missing=()
command -v git >/dev/null 2>&1 || missing+=(git)
command -v setsid >/dev/null 2>&1 || missing+=(util-linux)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# The REAL agent CLIs, pinned in tests/agents/package-lock.json; they talk only to tests/FakeLlm.
echo "==> installing the agent CLIs the tests drive"
(cd tests/agents && npm ci --no-audit --no-fund --loglevel=error)

echo "==> building"
dotnet build PocketCoder.slnx -c Release --nologo -v quiet

echo "==> running the tests"
log=$(mktemp)
status=0
dotnet test PocketCoder.slnx -c Release --no-build --nologo --logger "console;verbosity=normal" 2>&1 | tee "$log" || status=$?

# dotnet prints one summary per test assembly: "Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12 ...".
read -r passed failed skipped < <(grep -E '^\s*(Passed|Failed)!\s+-\s+Failed:' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\2 \1 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
rm -f "$log"
if [ "$passed" = 0 ] && [ "$status" = 0 ]; then
  echo "no test ran" >&2
  status=1
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
