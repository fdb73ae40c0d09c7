// Reads the results of scripts/check-newest-agents.sh's test run (a .trx file) and prints, per agent CLI, the pinned and
// the newest version and pass or FAIL per capability of the agent matrix, and for its gate and bypass tests. With --record
// it writes the table, dated, between the markers of docs/agents.md's "The newest CLIs", and raises checked-agents.json to
// each newest version that passed everything.
import { readFileSync, writeFileSync } from 'node:fs';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));

// Each package the tests pin, as PocketCoder names its agent, and the prefix of that agent's gate and bypass test classes; for
// an agent refused by name, the tests that show its reason on the CLI (Agents/RefusedAgentTests) in their place.
const AGENTS = {
  '@anthropic-ai/claude-code': { id: 'claude-code', classes: /^Claude(Code)?(Bypass|Gate)Tests$/ },
  '@agentclientprotocol/claude-agent-acp': { id: 'claude-acp', classes: /^ClaudeAcp(Bypass|Gate)Tests$/ },
  '@openai/codex': { id: 'codex', classes: /^Codex(Bypass|Gate)Tests$/ },
  'opencode-ai': { id: 'opencode', classes: /^OpenCode(Bypass|Gate)Tests$/ },
  '@google/gemini-cli': { id: 'gemini', classes: /^Gemini(Bypass|Gate)Tests$/ },
  '@github/copilot': { id: 'copilot', classes: /^Copilot(Bypass|Gate)Tests$/ },
  '@qwen-code/qwen-code': { id: 'qwen', classes: /^Qwen(Code)?(Bypass|Gate)Tests$/ },
  '@mariozechner/pi-coding-agent': { id: 'pi', classes: /^Pi(Bypass|Gate)Tests$/ },
  '@kilocode/cli': { id: 'kilo', classes: /^Kilo(Bypass|Gate)Tests$/ },
  '@vibe-kit/grok-cli': { id: 'grok', refusal: /\.RefusedAgentTests\.Grok_/ },
  '@sourcegraph/amp': { id: 'amp', refusal: /\.RefusedAgentTests\.VendorServiceAgent_.*agent: "amp"/ },
  '@augmentcode/auggie': { id: 'auggie', refusal: /\.RefusedAgentTests\.VendorServiceAgent_.*agent: "auggie"/ },
  droid: { id: 'droid', refusal: /\.RefusedAgentTests\.Droid_/ },
};
const CAPABILITIES = [['Text', 'text'], ['ToolCall', 'tool call'], ['Allow', 'allow'], ['Deny', 'deny'], ['EditThenAllow', 'edit, then allow'],
  ['Cancel', 'cancel'], ['Resume', 'resume'], ['Usage', 'usage']];

const unescape = (s) => s.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const read = (trx) => [...readFileSync(trx, 'utf8').matchAll(/<UnitTestResult\b[^>]*?testName="([^"]*)"[^>]*?outcome="([^"]*)"/g)]
  .map(([, name, outcome]) => ({ name: unescape(name), passed: outcome === 'Passed' }));
const results = read(args.trx);
// Every other test that drives a real agent: it cannot be told apart by agent, so a failure there keeps every CLI that is
// newer than its pin from counting as checked (one newer CLI at a time makes the failure its own).
const wide = args.wide ? read(args.wide) : [];
const wideFailed = wide.filter((t) => !t.passed).map((t) => t.name.replace('PocketCoder.Tests.', ''));

const cell = (tests) => (tests.length === 0 ? '—' : tests.every((t) => t.passed) ? 'pass' : `FAIL (${tests.filter((t) => !t.passed).length} of ${tests.length})`);
const pinned = JSON.parse(readFileSync(args.pinned, 'utf8')).dependencies;
const newest = JSON.parse(readFileSync(args.newest, 'utf8')).dependencies;
const rows = [];
const passedAll = {};
for (const [pkg, { id, classes, refusal }] of Object.entries(AGENTS)) {
  if (!pinned[pkg]) continue;
  const matrix = CAPABILITIES.map(([method]) => results.filter((r) => r.name.includes(`.AgentMatrixTests.${method}_`) && r.name.includes(`(agent: "${id}")`)));
  const gate = results.filter((r) => (classes ? classes.test(r.name.split('(')[0].split('.').at(-2)) : refusal.test(r.name)));
  const cells = [...matrix.map(cell), cell(gate)];
  const ran = [...matrix.flat(), ...gate];
  if (ran.length > 0 && ran.every((t) => t.passed) && (newest[pkg] === pinned[pkg] || (wide.length > 0 && wideFailed.length === 0))) passedAll[id] = newest[pkg];
  rows.push(`| ${id} | ${pinned[pkg]} | ${newest[pkg]} | ${cells.join(' | ')} |`);
}

const date = new Date().toISOString().slice(0, 10);
const table = [
  `Run on ${date} by \`scripts/check-newest-agents.sh\`: the agent matrix (\`EndToEnd/AgentMatrixTests\`) and each agent's gate and bypass`,
  'tests (for an agent refused by name, the tests that show its reason: `Agents/RefusedAgentTests`), against the newest published CLIs',
  '(a dash: no test of that kind ran for the agent).',
  '',
  `| agent | pinned | newest | ${CAPABILITIES.map(([, words]) => words).join(' | ')} | gate and bypass (or refusal) |`,
  `|---|---|---|${CAPABILITIES.map(() => '---').join('|')}|---|`,
  ...rows,
  ...(args.crush ? ['', args.crush] : []),
  '',
  wide.length === 0 ? 'The other tests that drive a real agent were not run.'
    : wideFailed.length === 0 ? `The ${wide.length} other tests that drive a real agent passed too.`
      : `Of the ${wide.length} other tests that drive a real agent, ${wideFailed.length} failed, so no CLI newer than its pin counts as checked:\n` +
        wideFailed.map((name) => `- \`${name}\``).join('\n'),
].join('\n');
console.log('\n' + table + '\n');

if (args.record) {
  const start = '<!-- newest-agents:start -->';
  const end = '<!-- newest-agents:end -->';
  const doc = readFileSync(args.record, 'utf8');
  const [before, rest] = doc.split(start);
  if (rest === undefined || !rest.includes(end)) throw new Error(`${args.record} has no ${start} … ${end} section`);
  writeFileSync(args.record, `${before}${start}\n${table}\n${end}${rest.split(end)[1]}`);
  const checked = JSON.parse(readFileSync(args.checked, 'utf8'));
  for (const [id, version] of Object.entries(passedAll)) checked.agents[id] = version;
  checked.checked = date;
  writeFileSync(args.checked, JSON.stringify(checked, null, 2) + '\n');
  console.log(`recorded in ${args.record}; ${args.checked} now names ${JSON.stringify(checked.agents)}`);
}
