#!/usr/bin/env bash
# Runs the test suite against the native (Native AOT) binary instead of the JIT build: a test's server is the binary as
# its own process (tests/.../Infrastructure/TestServer.cs with POCKETCODER_TEST_SERVER=binary; the tests that start
# `pocketcoder` themselves read POCKETCODER_BINARY: PocketCoderCommand.cs), unless the test gives it what only an
# in-process server takes (a clock moved by hand, a fake agent, a hub membership): that one runs in-process as always,
# and the summary counts both kinds. A test that reads the binary's services (it cannot) stops with "In-process only:",
# counted apart from failures. What would differ natively (reflection) is also kept out of every build
# by the trimming/AOT analyzers and by JSON with no reflection fallback. The test code itself stays JITted: xUnit.net's
# source-generated (AOT) runner is not served here (docs/testing.md).
#
#   scripts/test-aot.sh                      # publish for this machine, then run the suite on it (~30 min on 2 cores)
#   FILTER='FullyQualifiedName~Workspace' scripts/test-aot.sh              # a slice
#   POCKETCODER_BINARY=path/to/pocketcoder scripts/test-aot.sh          # an already published binary
#
# Needs what scripts/test.sh installs (the agent CLIs in tests/agents, tmux, git, PostgreSQL, pebble); run it once first.
# Ends with the "N passed, N failed, N in-process only" line, after how many servers ran as the binary.
set -euo pipefail
cd "$(dirname "$0")/.."

# ToolPackageTests is left out: it tests the .NET tool package, not this binary.
filter=${FILTER:-'FullyQualifiedName!~ToolPackageTests'}

if [ -z "${POCKETCODER_BINARY:-}" ]; then
  case "$(uname -m)" in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) echo "no native build for $(uname -m)" >&2; exit 1 ;; esac
  echo "==> publishing the native binary ($rid) into artifacts/native/$rid"
  rm -rf "artifacts/native/$rid"
  dotnet publish src/PocketCoder -c Release -r "$rid" -p:PublishAot=true -o "artifacts/native/$rid" --nologo -v quiet
  # One file is what users copy (README): anything else the publish leaves beside it (the debug symbols aside) is a bug,
  # and every test below runs the binary from that folder, so a library it needed from beside it would fail them all.
  extra=$(ls "artifacts/native/$rid" | grep -vx -e pocketcoder -e pocketcoder.dbg || true)
  if [ -n "$extra" ]; then
    echo "the native publish is not one file; beside pocketcoder: $extra" >&2
    exit 1
  fi
  POCKETCODER_BINARY="$PWD/artifacts/native/$rid/pocketcoder"
fi
starts=$(mktemp)
export POCKETCODER_BINARY POCKETCODER_TEST_SERVER=binary POCKETCODER_TEST_SERVER_LOG=$starts
echo "==> testing $POCKETCODER_BINARY"

dotnet build tests/PocketCoder.Tests -c Release --nologo -v quiet
results=$(mktemp -d)
test_tmp=$(mktemp -d /tmp/pct.XXXXXX)
chmod 711 "$test_tmp"
export POCKETCODER_TEST_CODEX_HOMES
POCKETCODER_TEST_CODEX_HOMES=$(mktemp -d /var/tmp/pct-codex.XXXXXX)
status=0
TMPDIR="$test_tmp" dotnet test tests/PocketCoder.Tests -c Release --no-build --nologo --filter "$filter" \
  --logger "console;verbosity=normal" --logger "trx" --results-directory "$results" || status=$?
rm -rf "$test_tmp" "$POCKETCODER_TEST_CODEX_HOMES"

counters=$(cat "$results"/*.trx 2>/dev/null | grep -o '<Counters [^>]*>' || true)
# A test that read the binary's services stopped there (InProcessOnlyException): its message names the exception.
in_process=$(cat "$results"/*.trx 2>/dev/null | { grep -o '<Message>[^<]*InProcessOnlyException : In-process only:' || true; } | wc -l)
rm -rf "$results"
num() { sed -nE "s/.* $1=\"([0-9]+)\".*/\1/p" <<<"$counters" | awk '{n+=$1} END {print n+0}'; }
passed=$(num passed); failed=$(($(num failed) - in_process)); total=$(num total)
if [ "$passed" = 0 ]; then
  echo "no test ran" >&2
  status=1
elif [ "$failed" = 0 ]; then
  status=0
fi
echo "servers started: $(grep -c '^binary$' "$starts" || true) as the binary, $(grep -vc '^binary$' "$starts" || true) in-process, for:"
grep -v '^binary$' "$starts" | sed 's/^in-process: //; s/, /\n/g' | sort | uniq -c | sort -rn | sed 's/^/  /' || true
rm -f "$starts"
echo "native binary: $passed passed, $failed failed, $in_process in-process only, $((total - passed - failed - in_process)) skipped"
exit "$status"
