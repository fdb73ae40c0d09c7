// The sandbox never silently disappears, on the phone: against a server whose bubblewrap does not work, New session says
// the project's sessions cannot start and why; Start is refused with that reason; "Run this project without a sandbox"
// is the owner's choice, after which the session starts, its header saying it runs unsandboxed.
// Started by tests/PocketCoder.Tests/Browser/SandboxBrowserTests.cs.
//
//   node e2e/sandbox.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { ok, runPhoneScript } from './phone.mjs';

await runPhoneScript('sandbox', 'Sandbox phone', async ({ page, base, projectId, shots }) => {
  await page.goto(`${base}/p/${projectId}/new`);
  const warning = page.locator('.sandbox-warning');
  await warning.waitFor();
  if (!(await warning.textContent()).includes('apt-get install bubblewrap')) throw new Error('the warning does not say how to install bubblewrap');
  await page.screenshot({ path: shots('sandbox-01-warning.png'), fullPage: true });
  ok('New session says the sandbox does not work, and how to fix it');

  await page.locator('textarea[name="prompt"]').fill('Say hello');
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.getByText('Install bubblewrap').first().waitFor();
  if (page.url().match(/\/s\/[^/]+$/)) throw new Error('a session opened although its sandbox does not work');
  ok('Start is refused with the reason: nothing runs unsandboxed unasked');

  await warning.getByRole('button', { name: 'Run this project without a sandbox' }).click();
  await warning.waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  await page.locator('[data-testid="message"]').filter({ hasText: 'Hello, unsandboxed.' }).first().waitFor();
  await page.getByText('· unsandboxed').first().waitFor();
  await page.screenshot({ path: shots('sandbox-02-unsandboxed.png'), fullPage: true });
  ok('the owner chose none: the session starts, and its header says it runs unsandboxed');
});
