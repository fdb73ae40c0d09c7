#!/usr/bin/env bash
# Runs the tests that start `pocketcoder` as its own process against the native (Native AOT) binary instead of the
# JIT build: the server as users run it (serve, pair, a kill -9 and restart, real agents, the hub, watch, the CLI
# commands, completion, the systemd unit). The tests read POCKETCODER_BINARY (tests/.../Infrastructure/PocketCoderCommand.cs).
# The rest of the suite hosts the server in the test process, so it runs JITted only; what would differ natively
# (reflection) is kept out of every build by the trimming/AOT analyzers and by JSON with no reflection fallback.
#
#   scripts/test-aot.sh                      # publish for this machine, then run the process-level tests on it
#   FILTER='FullyQualifiedName~CrashRecoveryTests' scripts/test-aot.sh   # a slice
#   POCKETCODER_BINARY=path/to/pocketcoder scripts/test-aot.sh          # an already published binary
#
# Needs what scripts/test.sh installs (the agent CLIs in tests/agents, tmux, git, PostgreSQL, pebble); run it once first.
# Ends with the "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."

# The classes that launch pocketcoder (ToolPackageTests is left out: it tests the .NET tool package, not this binary).
process_tests='FullyQualifiedName~CrashRecoveryTests|FullyQualifiedName~StartupProblemTests|FullyQualifiedName~FirstRunTests'
process_tests+='|FullyQualifiedName~LedgerExportTests|FullyQualifiedName~HubTests|FullyQualifiedName~HubClusterTests'
process_tests+='|FullyQualifiedName~CompletionTests|FullyQualifiedName~ServiceCommandTests|FullyQualifiedName~WatchTests'
process_tests+='|FullyQualifiedName~GitIdentityTests'
filter=${FILTER:-$process_tests}

if [ -z "${POCKETCODER_BINARY:-}" ]; then
  case "$(uname -m)" in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) echo "no native build for $(uname -m)" >&2; exit 1 ;; esac
  echo "==> publishing the native binary ($rid) into artifacts/native/$rid"
  dotnet publish src/PocketCoder -c Release -r "$rid" -p:PublishAot=true -o "artifacts/native/$rid" --nologo -v quiet
  POCKETCODER_BINARY="$PWD/artifacts/native/$rid/pocketcoder"
fi
export POCKETCODER_BINARY
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
rm -rf "$results"
num() { sed -nE "s/.* $1=\"([0-9]+)\".*/\1/p" <<<"$counters" | awk '{n+=$1} END {print n+0}'; }
passed=$(num passed); failed=$(num failed); total=$(num total)
if [ "$passed" = 0 ]; then
  echo "no test ran" >&2
  status=1
fi
echo "native binary: $passed passed, $failed failed, $((total - passed - failed)) skipped"
exit "$status"
