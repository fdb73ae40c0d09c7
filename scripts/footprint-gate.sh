#!/usr/bin/env bash
# The footprint gate (issue #72): the server as shipped (the native binary) and the bare ASP.NET Core app (bench/BareApp,
# native and JIT) started side by side, three rounds, order rotated, each as a user runs it (an empty HOME); it prints
# start-up (exec to the first 200 /api/health), idle RSS (5 s after exec) and RSS after 1,000 authenticated requests, and
# exits 1 when a ratio to the bare native app in the same run is past its limit in
# bench/PocketCoder.Bench/FootprintThresholds.cs (ratios only: absolute times on 2 shared cores mean nothing).
#
#   scripts/footprint-gate.sh                                   # publish all three, then measure (~6 min on 2 cores, most of it
#                                                               # the server's native compile)
#   POCKETCODER_BINARY=path/to/pocketcoder scripts/footprint-gate.sh     # an already published server (~2 min)
#   scripts/footprint-gate.sh publish                           # only publish and build (what takes the time)
#   scripts/footprint-gate.sh measure                           # only measure what `publish` left in bench/.out/footprint
#
# scripts/test.sh publishes at low priority while the tests run (the compile uses what CPU they leave idle) and measures
# after them, when nothing else of ours runs.
# scripts/test.sh runs it after the tests and counts it as one check. Needs SQLite's static library (libsqlite3-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/.out/footprint
mkdir -p "$out"
case "$(uname -m)" in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) echo "no native build for $(uname -m)" >&2; exit 1 ;; esac

# Published as bench/run.sh does, in artifacts paths of their own (the RID-specific restore stays out of the everyday obj/).
publish() { # project, output folder, extra properties...
  local project=$1 folder=$2
  shift 2
  rm -rf "$folder"
  dotnet publish "$project" -c Release -r "$rid" "$@" --artifacts-path "$out/artifacts" -o "$folder" --nologo -v quiet >&2
}

step=${1:-all}
case "$step" in all | publish | measure) ;; *) echo "usage: scripts/footprint-gate.sh [publish|measure]" >&2; exit 2 ;; esac
started=$SECONDS
if [ "$step" = measure ]; then
  POCKETCODER_BINARY=${POCKETCODER_BINARY:-$out/pocketcoder-native/pocketcoder}
  for built in "$POCKETCODER_BINARY" "$out/bare-native/bareapp" "$out/bare/bareapp.dll" bench/PocketCoder.Bench/bin/Release/net10.0/PocketCoder.Bench.dll; do
    [ -e "$built" ] || { echo "$built is missing: run scripts/footprint-gate.sh publish first" >&2; exit 1; }
  done
elif [ -z "${POCKETCODER_BINARY:-}" ]; then
  echo "==> publishing pocketcoder as a native binary" >&2
  publish src/PocketCoder "$out/pocketcoder-native" -p:PublishAot=true
  POCKETCODER_BINARY="$out/pocketcoder-native/pocketcoder"
fi
server=$(cd "$(dirname "$POCKETCODER_BINARY")" && pwd)
if [ "$step" != measure ]; then
  echo "==> publishing the bare app, native and JIT (ReadyToRun)" >&2
  publish bench/BareApp "$out/bare-native" -p:PublishAot=true
  publish bench/BareApp "$out/bare" --self-contained false -p:PublishReadyToRun=true
  dotnet build bench/PocketCoder.Bench -c Release --nologo -v quiet >&2
  echo "==> published and built in $((SECONDS - started)) s" >&2
fi
[ "$step" != publish ] || exit 0
echo "==> measuring" >&2

echo "pocketcoder: $(stat -c %s "$server/pocketcoder" | awk '{printf "%.1f MiB", $1 / 1048576}'), bare native app: $(stat -c %s "$out/bare-native/bareapp" | awk '{printf "%.1f MiB", $1 / 1048576}')"
dotnet bench/PocketCoder.Bench/bin/Release/net10.0/PocketCoder.Bench.dll --only external --gate true \
  --pocketcoder-aot "$server" --bare-aot "$out/bare-native" --bare "$out/bare" --out "$out/footprint.md"
