// A spent budget on the phone (issue #39), in Debian's Chromium at 390x844 and 360x640 against the real server and Claude Code: the
// owner caps each session at 1,000 tokens in the policy editor; Claude Code's first turn alone spends more, so its next
// tool call waits on a card saying the budget is spent, with Raise the budget and Stop instead of the allow wording.
// The inbox holds the same decision (at 390x844 and 360x640); raised there, the call goes on to be asked as usual;
// allowed, the command runs.
// Started by tests/PocketCoder.Tests/Browser/TeamsBrowserTests.cs.
//
//   node e2e/budget.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { controlAudit, ok, runPhoneScript, sessionHeaderWhole } from './phone.mjs';

await runPhoneScript('budget', 'Budget phone', async ({ page, base, projectId, shots }) => {
  await page.goto(`${base}/p/${projectId}/settings`);
  await page.locator('input[name="session-tokens"]').fill('1000');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  // The budgets say the saved session cap, not "No cap" (#51), at 390x844 and 360x640, and again when opened afresh.
  for (const [width, height] of [[390, 844], [360, 640]]) {
    await page.setViewportSize({ width, height });
    await page.reload();
    const line = page.locator('[data-testid="session-cap"]');
    await line.filter({ hasText: 'Each session may use up to 1,000 tokens.' }).waitFor({ timeout: 15_000 });
    await line.scrollIntoViewIfNeeded();
    await page.screenshot({ path: shots(`budget-00-policy-${width}.png`) });
  }
  await page.setViewportSize({ width: 390, height: 844 });
  ok('the policy editor caps each session at 1,000 tokens, and the budgets say so (390x844, 360x640)');

  await page.goto(`${base}/p/${projectId}/new`);
  await page.locator('textarea[name="prompt"]').fill('warm up');
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  await page.locator('[data-testid="message"]').filter({ hasText: 'Warmed up.' }).first().waitFor({ timeout: 60_000 });
  await page.locator('textarea[aria-label="Message"]').fill('write ran.txt');
  await page.getByRole('button', { name: 'Send' }).click();

  const card = page.locator('.approval.pending');
  await card.locator('.approval-title', { hasText: 'The budget is spent' }).waitFor({ timeout: 60_000 });
  await card.locator('[data-testid="budget"]').filter({ hasText: 'This session\'s budget is spent' }).waitFor();
  // A spent budget holds the next turn: the card says what it holds.
  // At 390x844 and 360x640 (#51): what it holds, and both its buttons whole on the screen.
  for (const [width, height] of [[390, 844], [360, 640]]) {
    await page.setViewportSize({ width, height });
    await card.locator('[data-testid="budget-holds"]').filter({ hasText: 'It holds the message: write ran.txt' }).waitFor();
    // The header (#51): opaque, the agent's name whole beside the status badge.
    await sessionHeaderWhole(page);
    // The card shows at once; its choices once the server's offers for this phone have come (on a loaded machine, later).
    await card.getByRole('button', { name: 'Raise the budget' }).waitFor({ timeout: 60_000 });
    const offered = (await card.getByRole('button').allTextContents()).map((t) => t.trim());
    if (JSON.stringify(offered) !== JSON.stringify(['Stop', 'Raise the budget'])) throw new Error(`a budget card offers ${JSON.stringify(offered)}`);
    for (const name of offered) {
      const button = card.getByRole('button', { name });
      await button.scrollIntoViewIfNeeded();
      const box = await button.boundingBox();
      if (!box || box.height < 44 || box.x < 0 || box.x + box.width > width || box.y < 0 || box.y + box.height > height) {
        throw new Error(`${name} at ${width}x${height} is not whole on the screen or under 44 px: ${JSON.stringify(box)}`);
      }
    }
    await page.screenshot({ path: shots(`budget-01-spent-${width}.png`) });
  }
  await page.setViewportSize({ width: 390, height: 844 });
  ok('the next tool call waits on "The budget is spent", saying what it holds, offering Raise the budget and Stop only (390x844, 360x640)');

  // The inbox holds budget decisions too (#51), at 390x844 and 360x640: the same card under "Needs you", raised from there.
  const sessionPath = new URL(page.url()).pathname;
  const { measure, offenders } = controlAudit();
  for (const [width, height] of [[390, 844], [360, 640]]) {
    await page.setViewportSize({ width, height });
    await page.goto(`${base}/inbox`);
    const held = page.locator('[data-testid="needs-you"] .inbox-item');
    await held.locator('.approval-title', { hasText: 'The budget is spent' }).waitFor();
    await held.locator('[data-testid="budget-holds"]').filter({ hasText: 'It holds the message: write ran.txt' }).waitFor();
    const inInbox = (await held.getByRole('button').allTextContents()).map((t) => t.trim());
    if (JSON.stringify(inInbox) !== JSON.stringify(['Stop', 'Raise the budget'])) throw new Error(`the inbox's budget card at ${width}x${height} offers ${JSON.stringify(inInbox)}`);
    await measure(page, `the inbox's budget card at ${width}x${height}`);
    await page.screenshot({ path: shots(`budget-01b-inbox-${width}.png`) });
  }
  if (offenders.length) throw new Error(`controls: ${offenders.join('; ')}`);
  await page.locator('[data-testid="needs-you"] .inbox-item').getByRole('button', { name: 'Raise the budget' }).click();
  await page.locator('[data-testid="needs-you"] .approval-title', { hasText: 'Wants to run a command' }).waitFor({ timeout: 60_000 });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}${sessionPath}`);
  ok('the inbox holds the budget decision under "Needs you" (Stop, Raise the budget) at 390x844 and 360x640; raised there, the call comes next');
  await page.locator('.approval.pending .approval-title', { hasText: 'Wants to run a command' }).waitFor({ timeout: 60_000 });
  await page.locator('.approval.pending').getByRole('button', { name: 'Allow once' }).click();
  await page.locator('[data-testid="message"]').filter({ hasText: 'Wrote it.' }).first().waitFor({ timeout: 60_000 });
  // The raise stays in the timeline as itself, saying who raised it and by how much (#51), beside the call's own decision.
  const raised = page.locator('.approval.decided', { hasText: /Budget raised \(adds [\d,]+ tokens\) by Budget phone/ });
  await raised.waitFor();
  await page.screenshot({ path: shots('budget-02-raised.png'), fullPage: true });
  // Kept there when the session is opened afresh, and readable at 360x640.
  await page.setViewportSize({ width: 360, height: 640 });
  await page.reload();
  await raised.waitFor();
  await raised.scrollIntoViewIfNeeded();
  const trace = await raised.boundingBox();
  if (!trace || trace.x < 0 || trace.x + trace.width > 360) throw new Error(`the raise at 360x640 runs off the screen: ${JSON.stringify(trace)}`);
  await page.screenshot({ path: shots('budget-03-raised-360.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  ok('raised, the call is asked as usual; allowed, the command runs; the timeline keeps who raised the budget (after a reload too, at 360x640)');
});
