#!/usr/bin/env bash
# The benchmark suite: one command, one table (docs/performance.md explains every row).
#   ./bench/run.sh            full run (about 5-8 minutes on 2 cores)
#   ./bench/run.sh --quick    fewer iterations, for checking the harness
# Every end-to-end figure is compared with a baseline measured in the same run; nothing here is a test.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/.out
quick=()
[ "${1:-}" = "--quick" ] && quick=(--quick)
mkdir -p "$out"

# The real Claude Code CLI the tests use (pinned in tests/agents), for the per-prompt and many-sessions rows.
if [ ! -x tests/agents/node_modules/@anthropic-ai/claude-code-linux-x64/claude ]; then
  echo "==> installing the pinned agent CLIs (tests/agents)" >&2
  (cd tests/agents && npm install --no-audit --no-fund --no-save --loglevel=error)
fi
claude=$(pwd)/tests/agents/node_modules/@anthropic-ai/claude-code-linux-x64/claude

# pocketcoder and the bare baseline are published the same way (Release, ReadyToRun, framework-dependent);
# their own artifacts path keeps the RID-specific restore out of the everyday build's obj/ folders.
echo "==> publishing pocketcoder and the bare baseline app" >&2
publish() {
  rm -rf "$2"
  dotnet publish "$1" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
    --artifacts-path "$out/artifacts" -o "$2" --nologo -v quiet >&2
}
publish src/PocketCoder "$out/publish/pocketcoder"
publish bench/BareApp "$out/publish/bare"
# And both as native binaries (Native AOT), measured in the same run against both bare apps (docs/performance.md).
echo "==> publishing pocketcoder and the bare baseline app as native binaries" >&2
publish_native() {
  rm -rf "$2"
  dotnet publish "$1" -c Release -r linux-x64 -p:PublishAot=true --artifacts-path "$out/artifacts-native" -o "$2" --nologo -v quiet >&2
}
publish_native src/PocketCoder "$out/publish/pocketcoder-native"
publish_native bench/BareApp "$out/publish/bare-native"

# The soak: every agent, sandboxed and on the defaults, with a session waiting on an approval and one idle, for ten minutes
# (two in a quick run): the test suite's own SoakTests, waiting longer, reporting what survived and what the sessions hold.
soak_seconds=600
[ ${#quick[@]} -gt 0 ] && soak_seconds=120
echo "==> the soak: every agent, a session waiting and one idle, for $soak_seconds s" >&2
rm -f "$out/soak.jsonl"
dotnet build tests/PocketCoder.Tests -c Release --nologo -v quiet >&2
POCKETCODER_SOAK_SECONDS=$soak_seconds POCKETCODER_SOAK_REPORT="$(pwd)/$out/soak.jsonl" \
  dotnet test tests/PocketCoder.Tests -c Release --no-build --nologo --filter "FullyQualifiedName~Reliability.SoakTests" >"$out/soak.log" 2>&1 \
  || echo "the soak test failed: see $out/soak.log (its rows say what did not survive)" >&2

# Issue #52: ten sessions of every agent waiting on the owner, pause on against off, and the resumes (three in a quick run):
# the test project's WaitingSessionsBench, which the test command leaves out (Category=Bench), against the native binary
# (the server as shipped).
waiting_sessions=10
[ ${#quick[@]} -gt 0 ] && waiting_sessions=3
echo "==> $waiting_sessions sessions of every agent waiting on the owner, pause on and off" >&2
rm -f "$out/waiting.jsonl"
POCKETCODER_WAITING_SESSIONS=$waiting_sessions POCKETCODER_WAITING_REPORT="$(pwd)/$out/waiting.jsonl" \
  POCKETCODER_WAITING_SERVER="$(pwd)/$out/publish/pocketcoder-native/pocketcoder" \
  dotnet test tests/PocketCoder.Tests -c Release --no-build --nologo --filter "FullyQualifiedName~Reliability.WaitingSessionsBench" >"$out/waiting.log" 2>&1 \
  || echo "the waiting-sessions bench failed: see $out/waiting.log" >&2

echo "==> building the load driver and the microbenchmarks" >&2
dotnet build bench/PocketCoder.Bench -c Release --nologo -v quiet >&2
dotnet build bench/PocketCoder.Microbench -c Release --nologo -v quiet >&2

dotnet bench/PocketCoder.Bench/bin/Release/net10.0/PocketCoder.Bench.dll "${quick[@]}" \
  --pocketcoder "$out/publish/pocketcoder" --bare "$out/publish/bare" \
  --pocketcoder-aot "$out/publish/pocketcoder-native" --bare-aot "$out/publish/bare-native" --claude "$claude" --soak "$out/soak.jsonl" --waiting "$out/waiting.jsonl" --out "$out/end-to-end.md"

echo
echo "In-process hot paths (BenchmarkDotNet, [MemoryDiagnoser]):"
filter='*'
[ ${#quick[@]} -gt 0 ] && filter='*Ledger*'
dotnet bench/PocketCoder.Microbench/bin/Release/net10.0/PocketCoder.Microbench.dll --filter "$filter" --artifacts "$out/bdn" >"$out/microbench.log" 2>&1 \
  || { tail -40 "$out/microbench.log" >&2; exit 1; }
# Only the summary tables; the full log stays in bench/.out/microbench.log.
awk '/^\| Method/{show=1} show&&/^\|/{print} show&&!/^\|/{if(show)print ""; show=0}' "$out/microbench.log"
