// After a restart (issue #14), in Debian's Chromium at 390x844 against the real server and Claude Code: a session cut
// off mid-call shows the call as interrupted (no spinner for ever), Resume brings the agent back, and the transcript
// says so. Two runs of this script share one browser profile, with the server restarted between them by
// tests/PocketCoder.Tests/Browser/RestartBrowserTests.cs:
//
//   node e2e/restart.mjs --phase before --url URL --code PAIRCODE --repo DIR --profile DIR   (prints "session: ID")
//   node e2e/restart.mjs --phase after --url URL --session ID --profile DIR
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { join } from 'node:path';
import { addProject, launchPhone, ok, pair, reportFailure, scriptArgs, smallTargets } from './phone.mjs';

const args = scriptArgs(
  { phase: { type: 'string' }, url: { type: 'string' }, code: { type: 'string' }, repo: { type: 'string' }, session: { type: 'string' }, profile: { type: 'string' } },
  ['url', 'profile', 'phase'],
  'see the head of e2e/restart.mjs',
);
const before = args.phase === 'before';
if (before ? !args.code || !args.repo : args.phase !== 'after' || !args.session) {
  console.error('usage: see the head of e2e/restart.mjs');
  process.exit(2);
}
const base = args.url.replace(/\/$/, '');

// The profile outlives this run: the second run is the same phone, its cookie (host-only, so any port) still paired.
const context = await launchPhone({ executablePath: args.chromium, profile: args.profile });
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(60_000);
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
let exitCode = 0;
try {
  if (before) {
    await pair(page, base, args.code, 'Restart phone');
    await addProject(page, args.repo);
    await page.locator('textarea[name="prompt"]').fill('write one.txt');
    await page.getByRole('button', { name: 'Start session' }).click();
    await page.waitForURL(/\/s\/[^/]+$/);
    // While it waits, the approval card stands for the call.
    await page.locator('.approval.pending').waitFor();
    console.log(`session: ${new URL(page.url()).pathname.split('/')[2]}`);
    ok('a session waits on an approval when the server goes down');
  } else {
    await page.goto(`${base}/s/${args.session}`);
    await page.locator('.badge', { hasText: 'Interrupted' }).first().waitFor();
    await page.locator('.tool[data-tool="Bash"] .tool-state[aria-label="interrupted"]').waitFor();
    if (await page.locator('.spinner').count()) throw new Error('a spinner still turns after the restart');
    await page.screenshot({ path: join(args.shots, 'restart-01-interrupted.png'), fullPage: true });
    const { bad } = await smallTargets(page);
    if (bad.length) throw new Error(`controls under 44x44: ${bad.join('; ')}`);
    ok('after the restart the call shows as interrupted, no spinner, and the session says Interrupted');

    await page.getByRole('button', { name: 'Resume session' }).click();
    await page.locator('.notice', { hasText: 'Session resumed' }).waitFor();
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    await page.locator('.tool[data-tool="Bash"] .tool-state[aria-label="interrupted"]').waitFor();
    await page.screenshot({ path: join(args.shots, 'restart-02-resumed.png'), fullPage: true });
    ok('Resume brings the agent back: a "Session resumed" marker, the composer back, the cut-off call still marked interrupted');
  }
  if (errors.length) throw new Error(`script errors: ${errors.join('; ')}`);
  ok('no script errors');
} catch (e) {
  exitCode = 1;
  await reportFailure(page, e, join(args.shots, `restart-${args.phase}-failure.png`));
} finally {
  await context.close();
}
process.exit(exitCode);
