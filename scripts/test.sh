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
# `npm install --no-save`, not `npm ci`: the registry reachable here lacks some agents' packages for other
# platforms (e.g. opencode's darwin/windows builds), which npm ci counts as a lock-file mismatch. Versions
# stay exactly those pinned in package.json, checked against package-lock.json's integrity hashes.
(cd tests/agents && npm install --no-audit --no-fund --no-save --loglevel=error)

echo "==> building"
dotnet build PocketCoder.slnx -c Release --nologo -v quiet

echo "==> running the tests"
results=$(mktemp -d)
status=0
dotnet test PocketCoder.slnx -c Release --no-build --nologo --logger "console;verbosity=normal" \
  --logger "trx" --results-directory "$results" || status=$?

# Count from the TRX reports (one per test project): <Counters total=".." passed=".." failed=".." ...>.
read -r passed failed skipped < <(cat "$results"/*.trx 2>/dev/null | grep -o '<Counters [^>]*>' \
  | sed -E 's/.* passed="([0-9]+)".* failed="([0-9]+)".*/\1 \2/; t; s/.*/0 0/' \
  | awk '{p+=$1; f+=$2} END {print p+0, f+0, 0}')
total=$(cat "$results"/*.trx 2>/dev/null | grep -o '<Counters [^>]*>' | sed -E 's/.* total="([0-9]+)".*/\1/' | awk '{t+=$1} END {print t+0}')
skipped=$((total - passed - failed))
rm -rf "$results"
if [ "$passed" = 0 ]; then
  echo "no test ran" >&2
  status=1
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
