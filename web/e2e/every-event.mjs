// Every kind of session event on the phone (issue #35), in Debian's Chromium at 390x844 against the real server and
// Claude Code. tests/PocketCoder.Tests/Browser/EveryEventBrowserTests.cs appends one event of every kind in the server's
// catalogue to a session through the server's own event log, writes what it appended to a file (kind, seq, the words the
// phone shows for it or null when it is absorbed, and words shown only once unfolded), then runs:
//
//   node e2e/every-event.mjs --url URL --code PAIRCODE --session ID --samples FILE [--shots DIR]
//
// The session opens with its stream intact and shows every kind; a message then brings a later approval card (allowed)
// and a later reply. The script prints "kill: the agent", on which the test kills the agent's process: the error shows,
// and "Restart session" brings the agent back on its conversation. Prints "ok - <step>" per step; exits 0, or 1.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchPhone, ok, pair, reportFailure, scriptArgs, smallTargets } from './phone.mjs';

const args = scriptArgs(
  { url: { type: 'string' }, code: { type: 'string' }, session: { type: 'string' }, samples: { type: 'string' } },
  ['url', 'code', 'session', 'samples'],
  'node e2e/every-event.mjs --url URL --code CODE --session ID --samples FILE',
);
const base = args.url.replace(/\/$/, '');
const samples = JSON.parse(readFileSync(args.samples, 'utf8'));
const shots = (file) => join(args.shots, file);

const profile = mkdtempSync(join(tmpdir(), 'pc-chromium-'));
const context = await launchPhone({ executablePath: args.chromium, profile });
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(60_000);
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
let exitCode = 0;

/** Fails when a control is under 44x44 or the app says it cannot reach the machine. */
async function checkScreen(when) {
  const { bad } = await smallTargets(page);
  if (bad.length) throw new Error(`controls under 44x44 ${when}: ${bad.join('; ')}`);
  const lost = page.locator('.offline, .reconnecting');
  if (await lost.count()) throw new Error(`${when} the app says "${await lost.first().innerText()}"`);
}

try {
  await pair(page, base, args.code, 'Every event phone');
  const last = Math.max(...samples.map((s) => s.seq));
  await page.goto(`${base}/s/${args.session}`);
  // Either the transcript takes in every sample, or the app loses its stream on the way (and says so in a banner).
  const outcome = await (await page.waitForFunction((seq) => {
    const lost = document.querySelector('.offline, .reconnecting');
    if (lost) return `lost: ${lost.textContent}`;
    return Number(document.querySelector('main')?.dataset.lastSeq ?? 0) >= seq ? 'reached' : false;
  }, last, { timeout: 60_000 })).jsonValue();
  if (outcome !== 'reached') {
    const at = await page.locator('main').getAttribute('data-last-seq');
    const stuck = samples.find((s) => s.seq > Number(at));
    throw new Error(`the phone stopped at seq ${at}, before ${stuck?.kind} (seq ${stuck?.seq}), and says "${outcome}"`);
  }

  const screen = page.locator('main');
  const absorbed = [];
  for (const sample of samples) {
    if (!sample.shows) {
      absorbed.push(sample.kind);
      continue;
    }
    const shown = screen.getByText(sample.shows).first();
    await shown.waitFor({ timeout: 5_000 }).catch(() => { throw new Error(`${sample.kind} (seq ${sample.seq}) is not shown: no "${sample.shows}"`); });
    if (!sample.folded) continue;
    const item = page.locator('.transcript li', { hasText: sample.shows });
    const folded = item.getByText(sample.folded);
    if (await folded.isVisible()) throw new Error(`${sample.kind}: "${sample.folded}" is shown before it is unfolded`);
    await item.locator('summary').click();
    await folded.waitFor({ timeout: 5_000 });
  }
  // A subagent's calls and words stand under the call that started it, with its own state, and fold away with one tap.
  const subagent = page.locator('.subagent[data-subagent="sample-agent"]');
  const steps = subagent.locator('.subagent-steps');
  await steps.getByText('Read sample-notes.md').waitFor({ timeout: 5_000 });
  await steps.getByText('Sample subagent finding.').waitFor({ timeout: 5_000 });
  if (await page.locator('.transcript > li > .tool', { hasText: 'Read sample-notes.md' }).count()) throw new Error('the subagent\'s call is also shown flat');
  if ((await subagent.getAttribute('data-state')) !== 'done') throw new Error(`the finished subagent shows ${await subagent.getAttribute('data-state')}`);
  const fold = subagent.locator('.subagent-toggle');
  if (!(await fold.innerText()).includes('Done')) throw new Error(`the subagent's toggle says "${await fold.innerText()}", not its state`);
  await fold.click();
  await steps.waitFor({ state: 'detached', timeout: 5_000 });
  await fold.click();
  await steps.getByText('Read sample-notes.md').waitFor({ timeout: 5_000 });
  ok('a subagent\'s calls and words are under its call, which says Done, and fold away and back');

  await checkScreen('with every kind on screen');
  await page.screenshot({ path: shots('every-event-01-every-kind.png'), fullPage: true });
  ok(`every kind in the catalogue (${samples.length}) taken in with the stream intact: ${samples.length - absorbed.length} shown, ` +
    `${absorbed.join(', ')} absorbed; the folded part unfolds`);

  await page.getByRole('textbox', { name: 'Message' }).fill('Write checked.txt');
  await page.getByRole('button', { name: 'Send' }).click();
  // The agent delegates: its Agent call is asked first, then the subagent's command, on a card that names the subagent.
  const delegating = page.locator('.approval.pending', { hasText: 'Subagent: Check the folder' });
  await delegating.waitFor();
  await delegating.getByRole('button', { name: 'Allow once' }).click();
  const pending = page.locator('.approval.pending', { hasText: 'checked.txt' });
  await pending.waitFor();
  const askedBy = await pending.locator('[data-testid="asked-by"]').innerText();
  if (!askedBy.includes('Subagent: Check the folder')) throw new Error(`the subagent's card says "${askedBy}", not which subagent asks`);
  const live = page.locator('.subagent', { hasText: 'Subagent: Check the folder' });
  if ((await live.getAttribute('data-state')) !== 'running') throw new Error(`the waiting subagent shows ${await live.getAttribute('data-state')}`);
  await live.getByRole('button', { name: 'Stop this subagent' }).waitFor();
  await checkScreen('with a subagent\'s call waiting');
  await page.screenshot({ path: shots('every-event-02-subagent-asks.png'), fullPage: true });
  await pending.getByRole('button', { name: 'Allow once' }).click();
  await page.locator('[data-testid="message"]').filter({ hasText: 'Checked after every kind.' }).first().waitFor();
  await live.locator('.subagent-steps').getByText('echo checked > checked.txt').waitFor();
  if ((await live.getAttribute('data-state')) !== 'done') throw new Error(`the finished subagent shows ${await live.getAttribute('data-state')}`);
  ok('a later subagent: its Agent call asked, then its command on a card naming it (Stop offered while it runs), allowed, then under it, Done');
  await checkScreen('after the later turn');
  await page.screenshot({ path: shots('every-event-03-later-turn.png'), fullPage: true });
  ok('after them, a later approval card (allowed) and a later reply from the agent');

  console.log('kill: the agent');
  await page.locator('.t-error', { hasText: 'exited unexpectedly' }).waitFor();
  await page.locator('.badge', { hasText: 'Failed' }).first().waitFor();
  const restart = page.getByRole('button', { name: 'Restart session' });
  await restart.waitFor();
  await checkScreen('with the session failed');
  await page.screenshot({ path: shots('every-event-04-killed.png'), fullPage: true });
  ok('the killed agent shows at once: its error, the session failed, and a Restart button');

  await restart.click();
  await page.locator('.notice', { hasText: 'Session resumed' }).waitFor();
  await page.getByRole('textbox', { name: 'Message' }).fill('Which bird?');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('[data-testid="message"]').filter({ hasText: 'The bird was HERON.' }).first().waitFor();
  await checkScreen('after the restart');
  await page.screenshot({ path: shots('every-event-05-restarted.png'), fullPage: true });
  ok('one tap restarts the session: the agent answers from its earlier conversation');

  if (errors.length) throw new Error(`script errors: ${errors.join('; ')}`);
  ok('no script errors');
} catch (e) {
  exitCode = 1;
  await reportFailure(page, e, shots('every-event-failure.png'));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(exitCode);
