// The app's second pass (issue #14), in Debian's Chromium at 390x844 against the real server and Claude Code:
// the prompt in view on New session, "Always allow" showing its rule first, a rule changed with a live preview, every
// control at least 44x44 on every screen, Back from a deep link staying in the app, a session archived and found
// again, the approval timeout set and the project removed, and the app's files arriving compressed.
// Started by tests/PocketCoder.Tests/Browser/SecondPassBrowserTests.cs.
//
//   node e2e/second-pass.mjs --url URL --code PAIRCODE --repo DIR --command TEXT [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addProject, launchPhone, ok, openSessionOptions, pair, reportFailure, scriptArgs, smallTargets } from './phone.mjs';

const args = scriptArgs(
  { url: { type: 'string' }, code: { type: 'string' }, repo: { type: 'string' }, command: { type: 'string' } },
  ['url', 'code', 'repo', 'command'],
  'node e2e/second-pass.mjs --url URL --code CODE --repo DIR --command TEXT',
);
const base = args.url.replace(/\/$/, '');


const profile = mkdtempSync(join(tmpdir(), 'pc-chromium-'));
const context = await launchPhone({ executablePath: args.chromium, profile });
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(60_000);
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
const encodings = new Map();
page.on('response', (r) => {
  const path = new URL(r.url()).pathname;
  if (path.startsWith('/assets/')) encodings.set(path, r.headers()['content-encoding'] ?? 'identity');
});
let exitCode = 0;
const offenders = [];
const measured = [];
const measure = async (screen) => {
  const { bad, measured: count } = await smallTargets(page);
  if (count === 0) throw new Error(`no controls found to measure on ${screen}`);
  measured.push(`${screen} ${count}`);
  for (const o of bad) offenders.push(`${screen}: ${o}`);
};
try {
  await pair(page, base, args.code, 'Second-pass phone');
  const scripts = [...encodings.entries()].filter(([p]) => p.endsWith('.js'));
  if (scripts.length === 0 || scripts.some(([, e]) => e !== 'br')) throw new Error(`the app's script did not arrive as brotli: ${JSON.stringify(scripts)}`);
  ok(`the app's files arrive compressed (${scripts.map(([, e]) => e).join(', ')})`);
  await measure('home (empty)');

  // New session: the prompt is in view above the sticky button; each mode says what it lets run.
  const projectId = await addProject(page, args.repo);
  await openSessionOptions(page);
  await page.locator('.choice', { hasText: 'Claude Code' }).locator('input:checked').waitFor();
  const prompt = await page.locator('textarea[name="prompt"]').boundingBox();
  const button = await page.getByRole('button', { name: 'Start session' }).boundingBox();
  if (!prompt || !button || prompt.y + prompt.height > button.y) throw new Error(`the prompt is under the fold or the button: ${JSON.stringify({ prompt, button })}`);
  await page.locator('.choice', { hasText: 'Accept edits' }).filter({ hasText: 'commands ask' }).waitFor();
  await measure('new session');
  ok('New session: the prompt is in view, above the button; the modes are explained where they are chosen');

  // "Always allow" says what it will add, then adds it.
  await page.locator('textarea[name="prompt"]').fill('write one.txt');
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  const sessionPath = new URL(page.url()).pathname;
  const card = page.locator('.approval.pending');
  await card.waitFor();
  await measure('session with an approval');
  await card.getByRole('button', { name: 'Always allow…' }).click();
  // The rule it proposes, editable: an echo is not a tool run it widens, so the exact command.
  const proposed = await card.locator('[data-testid="always-allow"]').getByRole('textbox', { name: 'Rule pattern' }).inputValue();
  if (proposed !== args.command) throw new Error(`"Always allow" proposed ${proposed}`);
  await page.screenshot({ path: join(args.shots, 'second-01-always-allow.png') });
  await card.getByRole('button', { name: 'Add rule and allow' }).click();
  await page.locator('.tool[data-tool="Bash"] .tool-state[aria-label="done"]').waitFor();
  ok('"Always allow…" shows the rule (allow Bash with the exact command) before adding it, then allows');

  // Rules: change the rule, with a live preview against the questions already asked.
  await page.goto(`${base}/p/${projectId}/rules`);
  await page.getByRole('button', { name: /^Edit rule Bash/ }).click();
  const patternInput = page.locator('.rule-form input.mono');
  if ((await patternInput.inputValue()) === '') throw new Error('editing did not fill the form');
  await patternInput.fill('echo *');
  await page.locator('.rule-preview[data-matched="1"]').filter({ hasText: 'Would have matched 1 of the last 1' }).waitFor();
  await patternInput.fill('npm *');
  await page.locator('.rule-preview[data-matched="0"]').waitFor();
  await patternInput.fill('echo *');
  await page.locator('.rule-preview[data-matched="1"]').waitFor();
  await measure('rules (editing)');
  await page.getByRole('button', { name: 'Save rule' }).click();
  await page.locator('.list-row code.pattern', { hasText: 'echo *' }).waitFor();
  await page.screenshot({ path: join(args.shots, 'second-02-rules.png'), fullPage: true });
  ok('a rule changed in place, its preview counting the questions it would have matched as the pattern is typed');

  // Every other screen: tap targets.
  for (const [screen, path, ready] of [
    ['home', '/', '.project'],
    ['files', `/p/${projectId}/files`, '.list-row'],
    ['git', `/p/${projectId}/git`, '.git-head'],
    ['run', `/p/${projectId}/run`, 'main.run'],
    ['terminal', `/p/${projectId}/terminal`, '[data-testid="terminal-screen"]'],
    ['settings', `/p/${projectId}/settings`, 'select[name="approvalTimeout"]'],
    ['devices', '/devices', '.notify h2'],
  ]) {
    await page.goto(base + path);
    await page.locator(ready).first().waitFor();
    if (screen === 'devices') await page.locator('.device').first().waitFor();
    if (screen === 'git') await page.getByRole('button', { name: 'Stage', exact: true }).first().waitFor();
    await measure(screen);
  }
  if (offenders.length) throw new Error(`controls under 44x44:\n  ${offenders.join('\n  ')}`);
  ok(`every control on every screen is at least 44x44 (controls measured: ${measured.join(', ')})`);

  // A deep link opened fresh, then Back: the app goes up, never out to a blank page.
  const fresh = await context.newPage();
  await fresh.goto(`${base}/p/${projectId}/files`);
  await fresh.getByRole('button', { name: 'Back' }).click();
  await fresh.waitForURL(`${base}/`);
  await fresh.locator('.project').first().waitFor();
  await fresh.close();
  ok('a deep link opened fresh, then Back: the app shows Home, inside the app');

  // Archive the session: off Home, one tap to see it again.
  await page.goto(base + sessionPath);
  await page.getByRole('button', { name: 'Session actions' }).click();
  await page.getByRole('button', { name: 'Archive…' }).click();
  await page.locator('.session-actions .confirm', { hasText: 'hide this session' }).waitFor();
  await page.getByRole('button', { name: 'Archive', exact: true }).click();
  await page.locator('.session-actions').waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Session actions' }).click();
  await page.getByRole('button', { name: 'Unarchive' }).waitFor();
  await page.goto(`${base}/`);
  await page.locator('.project').first().waitFor();
  if (await page.locator('.session-row').count()) throw new Error('the archived session is still listed on Home');
  await page.getByRole('button', { name: 'Show 1 archived' }).click();
  await page.locator('.session-row', { hasText: 'Archived' }).waitFor();
  ok('archived: stopped, gone from Home, shown again with "Show 1 archived"');

  // Project settings: the approval timeout, then remove the project.
  await page.goto(`${base}/p/${projectId}/settings`);
  await page.locator('select[name="approvalTimeout"]').selectOption('300');
  await page.locator('[role="status"]', { hasText: '5 minutes' }).waitFor();
  const saved = await page.evaluate(async (id) => (await (await fetch(`/api/projects/${id}`)).json()).approvalTimeoutSeconds, projectId);
  if (saved !== 300) throw new Error(`approval timeout saved as ${saved}`);
  // The sandbox: on by default here (bubblewrap is installed), turned off, then on again.
  const sandbox = page.locator('select[name="sandbox"]');
  if (await sandbox.inputValue() !== 'sandboxed') throw new Error(`the sandbox shows ${await sandbox.inputValue()} by default`);
  await sandbox.selectOption('none');
  await page.locator('[role="status"]', { hasText: 'without a sandbox' }).waitFor();
  await sandbox.selectOption('sandboxed');
  await page.locator('[role="status"]', { hasText: 'run sandboxed' }).waitFor();
  const mode = await page.evaluate(async (id) => (await (await fetch(`/api/projects/${id}`)).json()).sandbox, projectId);
  if (mode !== 'sandboxed') throw new Error(`sandbox saved as ${mode}`);
  await page.getByRole('button', { name: 'Remove project…' }).click();
  await page.getByRole('button', { name: /^Remove / }).click();
  await page.waitForURL(`${base}/`);
  await page.getByRole('button', { name: 'Add project' }).waitFor();
  if (await page.locator('.project').count()) throw new Error('the removed project is still on Home');
  ok('project settings: the approval timeout saved (300 s), the sandbox off and on again; the project removed after confirmation');

  if (errors.length) throw new Error(`script errors: ${errors.join('; ')}`);
  ok('no script errors');
} catch (e) {
  exitCode = 1;
  await reportFailure(page, e, join(args.shots, 'second-failure.png'));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(exitCode);
