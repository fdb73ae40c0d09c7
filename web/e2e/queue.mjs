// Messages sent while the agent works (issue #16), in Debian's Chromium at 390x844 against the real server and Claude
// Code: while a command waits for approval, two messages go into the queue and show as queued; one is edited, the other
// removed; allowing the command ends the turn and the edited message starts a turn of its own.
// Started by tests/PocketCoder.Tests/Browser/QueueBrowserTests.cs, which then checks what reached the model.
//
//   node e2e/queue.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { ok, runPhoneScript, smallTargets } from './phone.mjs';

await runPhoneScript('queue', 'Queue phone', async ({ page, base, projectId, shots }) => {
  await page.locator('textarea[name="prompt"]').fill('Run the build');
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  const pending = page.locator('.approval.pending');
  await pending.waitFor();

  const message = page.getByRole('textbox', { name: 'Message' });
  const placeholder = await message.getAttribute('placeholder');
  if (!/queue/i.test(placeholder ?? '')) throw new Error(`while a turn runs the composer says "${placeholder}", not that it queues`);
  for (const text of ['first queued', 'second queued']) {
    await message.fill(text);
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('[data-testid="queued-message"]', { hasText: text }).waitFor();
  }
  const queue = page.locator('[data-testid="queue"]');
  if ((await queue.locator('[data-testid="queued-message"]').count()) !== 2) throw new Error('two messages sent during the turn are not both queued');
  const { bad } = await smallTargets(page);
  if (bad.length) throw new Error(`controls under 44x44 with a queue: ${bad.join('; ')}`);
  await page.screenshot({ path: shots('queue-01-queued.png') });
  ok('two messages sent while a command waits show as queued, in order');

  // By place, not text: while it is edited its words are in a text box.
  const second = queue.locator('[data-testid="queued-message"]').nth(1);
  await second.getByRole('button', { name: 'Edit' }).click();
  await second.getByRole('textbox', { name: 'Queued message' }).fill('second, edited');
  await second.getByRole('button', { name: 'Save' }).click();
  await queue.locator('[data-testid="queued-message"]', { hasText: 'second, edited' }).waitFor();
  await queue.getByRole('button', { name: 'Remove queued message 1' }).click();
  await queue.locator('[data-testid="queued-message"]', { hasText: 'first queued' }).waitFor({ state: 'detached' });
  ok('a queued message is edited in place, another removed');

  await pending.getByRole('button', { name: 'Allow once' }).click();
  await page.locator('[data-testid="message"]').filter({ hasText: 'Build done.' }).first().waitFor();
  await page.locator('.user-bubble', { hasText: 'second, edited' }).waitFor();
  await page.locator('[data-testid="message"]').filter({ hasText: 'Queued one answered.' }).first().waitFor();
  await queue.waitFor({ state: 'detached' });
  if ((await page.locator('.user-bubble', { hasText: 'first queued' }).count()) !== 0) throw new Error('the removed message was sent');
  await page.screenshot({ path: shots('queue-02-ran.png') });
  ok('when the turn ends, the edited message starts a turn of its own; the removed one never does');
});
