#!/usr/bin/env bash
# Checks PocketCoder against the NEWEST published version of every agent CLI the tests pin, without touching the pins:
# installs them beside the pinned ones (tests/agents-newest, never tests/agents), runs the agent matrix
# (EndToEnd/AgentMatrixTests: eight capabilities per agent) and every agent's gate and bypass tests against them, and prints
# a table: agent, pinned, newest, pass or FAIL per capability. With --record it also writes that table, dated, into
# docs/agents.md ("The newest CLIs") and raises src/PocketCoder/Health/checked-agents.json to each newest version that
# passed everything (its matrix and gate tests, and, when it is not the pinned version, every other test of the run) (what doctor and the phone compare an installed CLI with). Moving a pin stays a deliberate change:
# edit tests/agents/package.json to the version the table says passed.
# Needs what ./scripts/test.sh installs (run it once first); takes about 30 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

record=false
[ "${1:-}" = "--record" ] && record=true

newest=tests/agents-newest
mkdir -p "$newest"
echo "==> asking npm for the newest version of each pinned agent CLI"
node - "$newest/package.json" <<'JS'
const { execFileSync } = require('node:child_process');
const { readFileSync, writeFileSync } = require('node:fs');
const pinned = JSON.parse(readFileSync('tests/agents/package.json', 'utf8')).dependencies;
const dependencies = {};
for (const name of Object.keys(pinned)) {
  dependencies[name] = execFileSync('npm', ['view', name, 'version'], { encoding: 'utf8' }).trim();
  console.log(`    ${name}: pinned ${pinned[name]}, newest ${dependencies[name]}`);
}
writeFileSync(process.argv[2], JSON.stringify({ name: 'pocketcoder-newest-agents', private: true, dependencies }, null, 2) + '\n');
JS
echo "==> installing them into $newest"
(cd "$newest" && npm install --no-audit --no-fund --no-save --loglevel=error)

# Crush is refused by name because its npm package downloads its program when installed (RefusedAgents): the newest is tried
# on its own, so that the day it installs from the registry alone, the table says so.
crush_version=$(npm view @charmland/crush version 2>/dev/null || echo unknown)
crush_dir=$(mktemp -d)
if (cd "$crush_dir" && npm init -y >/dev/null && npm install --no-audit --no-fund "@charmland/crush@$crush_version" --loglevel=error >"$crush_dir/install.log" 2>&1) \
    && "$crush_dir/node_modules/.bin/crush" --version >/dev/null 2>&1; then
  crush="Crush $crush_version (refused by name): installed from the registry this time; check it and reconsider its refusal (docs/agents.md)."
else
  crush="Crush $crush_version (refused by name): could not be installed here ($(grep -m1 -o 'Downloading [^ ]*' "$crush_dir/install.log" || echo 'its install failed')); the refusal stands."
fi
rm -rf "$crush_dir"

echo "==> building"
dotnet build PocketCoder.slnx -c Release --nologo -v quiet

echo "==> running the agent matrix and the gate and bypass tests against the newest CLIs"
results=$(mktemp -d)
test_tmp=$(mktemp -d /tmp/pct.XXXXXX)
chmod 711 "$test_tmp"
export POCKETCODER_TEST_CODEX_HOMES
POCKETCODER_TEST_CODEX_HOMES=$(mktemp -d /var/tmp/pct-codex.XXXXXX)
POCKETCODER_TEST_AGENTS="$PWD/$newest" TMPDIR="$test_tmp" dotnet test tests/PocketCoder.Tests -c Release --no-build --nologo \
  --filter "FullyQualifiedName~AgentMatrixTests|FullyQualifiedName~BypassTests|FullyQualifiedName~GateTests|FullyQualifiedName~RefusedAgentTests" \
  --logger "trx;LogFileName=newest.trx" --results-directory "$results" || true

# The matrix is what every agent shares; each agent's own features (Claude's plan cards and task lists, MCP servers, the
# terminal hand-off...) are tested elsewhere. A newer CLI counts as checked only when those pass too.
echo "==> running every other test that drives a real agent, against the newest CLIs"
POCKETCODER_TEST_AGENTS="$PWD/$newest" TMPDIR="$test_tmp" dotnet test tests/PocketCoder.Tests -c Release --no-build --nologo \
  --filter "(FullyQualifiedName~PocketCoder.Tests.EndToEnd|FullyQualifiedName~PocketCoder.Tests.Gate|FullyQualifiedName~PocketCoder.Tests.Agents|FullyQualifiedName~PocketCoder.Tests.Teams|FullyQualifiedName~PocketCoder.Tests.Browser)&FullyQualifiedName!~AgentMatrixTests&FullyQualifiedName!~BypassTests&FullyQualifiedName!~GateTests&FullyQualifiedName!~RefusedAgentTests" \
  --logger "trx;LogFileName=wide.trx" --results-directory "$results" || true
rm -rf "$test_tmp" "$POCKETCODER_TEST_CODEX_HOMES"

args=(--trx "$results/newest.trx" --wide "$results/wide.trx" --pinned tests/agents/package.json --newest "$newest/package.json" --crush "$crush")
$record && args+=(--record docs/agents.md --checked src/PocketCoder/Health/checked-agents.json)
node scripts/newest-agents-report.mjs "${args[@]}"
