// A wait that costs no memory, on the phone (issue #19), in Debian's Chromium at 390x844 against the real server and
// Claude Code: a call left waiting past the server's threshold (a second here) shows the agent paused, and "Allow once"
// resumes it, the command runs and the reply comes.
// Started by tests/PocketCoder.Tests/Browser/PausedBrowserTests.cs.
//
//   node e2e/paused.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { ok, runPhoneScript } from './phone.mjs';

await runPhoneScript('paused', 'Paused phone', async ({ page, base, projectId, shots }) => {
  await page.goto(`${base}/p/${projectId}/new`);
  await page.locator('textarea[name="prompt"]').fill('Write paused.txt');
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  const pending = page.locator('.approval.pending');
  await pending.waitFor();
  await page.getByRole('status').filter({ hasText: 'agent paused to save memory' }).waitFor({ timeout: 60_000 });
  await page.screenshot({ path: shots('paused-01-waiting.png'), fullPage: true });
  ok('a call waiting past the threshold: its card, and the agent shown paused to save memory');

  await pending.getByRole('button', { name: 'Allow once' }).click();
  await page.locator('[data-testid="message"]').filter({ hasText: 'Written after the pause.' }).first().waitFor({ timeout: 60_000 });
  if (await page.getByText('agent paused to save memory').count()) throw new Error('still shown paused after the decision');
  await page.screenshot({ path: shots('paused-02-resumed.png'), fullPage: true });
  ok('Allow once resumes the agent: the command runs and the reply comes');
});
