// Desk and phone are one place (issue #15), in Debian's Chromium at 390x844 against the real server and Claude Code:
// a conversation begun in a terminal is listed under the project's Conversations, continued on the phone with its
// history shown, then handed back with the command that resumes it.
// Started by tests/PocketCoder.Tests/Browser/HandoffBrowserTests.cs.
//
//   node e2e/handoff.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addProject, launchPhone, ok, pair, reportFailure, scriptArgs, smallTargets } from './phone.mjs';

const args = scriptArgs(
  { url: { type: 'string' }, code: { type: 'string' }, repo: { type: 'string' } },
  ['url', 'code', 'repo'],
  'node e2e/handoff.mjs --url URL --code CODE --repo DIR',
);
const base = args.url.replace(/\/$/, '');
const assertTappable = async (page, screen) => {
  const { bad } = await smallTargets(page);
  if (bad.length) throw new Error(`controls under 44x44 on ${screen}: ${bad.join('; ')}`);
};

const profile = mkdtempSync(join(tmpdir(), 'pc-chromium-'));
const context = await launchPhone({ executablePath: args.chromium, profile });
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(60_000);
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
let exitCode = 0;
try {
  await pair(page, base, args.code, 'Handoff phone');
  const projectId = await addProject(page, args.repo);

  await page.goto(`${base}/`);
  await page.getByRole('link', { name: 'Conversations' }).click();
  const row = page.locator('.conversation', { hasText: 'Remember the word heron' });
  await row.waitFor();
  await assertTappable(page, 'conversations');
  await page.screenshot({ path: join(args.shots, 'handoff-01-conversations.png') });
  await row.getByRole('button', { name: 'Continue here' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  await page.locator('.user-bubble', { hasText: 'Remember the word heron' }).locator('.by', { hasText: 'terminal' }).waitFor();
  await page.locator('.md', { hasText: 'I will remember heron.' }).waitFor();
  await page.locator('.notice', { hasText: 'the conversation so far in the terminal' }).waitFor();
  ok('a conversation begun in a terminal is listed, and continues on the phone with its history shown');

  await page.getByRole('button', { name: 'Session actions' }).click();
  await page.getByRole('button', { name: 'Continue in terminal…' }).click();
  await page.getByRole('button', { name: 'Hand back' }).click();
  const handoff = page.locator('[data-testid="handoff"]');
  await handoff.locator('pre', { hasText: 'claude --resume' }).waitFor();
  await assertTappable(page, 'handoff');
  await page.screenshot({ path: join(args.shots, 'handoff-02-command.png') });
  await page.locator('.badge', { hasText: 'Stopped' }).first().waitFor();
  ok('handed back: the agent stops here and the command to resume it in a terminal is shown');

  await page.goto(`${base}/p/${projectId}/conversations`);
  await row.getByRole('button', { name: 'Continue here' }).waitFor();
  ok('the conversation can be continued here again');

  if (errors.length) throw new Error(`script errors: ${errors.join('; ')}`);
  ok('no script errors');
} catch (e) {
  exitCode = 1;
  await reportFailure(page, e, join(args.shots, 'handoff-failure.png'));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(exitCode);
