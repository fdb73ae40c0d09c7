// An agent's question on the phone (issue #19), in Debian's Chromium at 390x844 against the real server and Claude Code:
// Claude asks two questions (one takes any number of options); the card shows each with its options, Answer waits until
// both are answered; the inbox holds the same question (at 390x844 and 360x640) and it is answered there; the answer goes
// back to the agent, which goes on.
// Started by tests/PocketCoder.Tests/Browser/QuestionBrowserTests.cs, which then checks what reached the model.
//
//   node e2e/question.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { ok, runPhoneScript, smallTargets } from './phone.mjs';

await runPhoneScript('question', 'Question phone', async ({ page, base, shots }) => {
  await page.locator('textarea[name="prompt"]').fill('Set up the service');
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  const card = page.getByRole('region', { name: 'Question from the agent' });
  await card.waitFor();
  if ((await card.getByRole('button', { name: /Allow/ }).count()) !== 0) throw new Error('a question offers Allow');
  const answer = card.getByRole('button', { name: 'Answer' });
  if (!(await answer.isDisabled())) throw new Error('Answer is enabled before any question is answered');
  const { bad } = await smallTargets(page);
  if (bad.length) throw new Error(`controls under 44x44 on a question: ${bad.join('; ')}`);
  await page.screenshot({ path: shots('question-01-asked.png') });
  ok('the question shows as its own card, with its options and no Allow');

  // The inbox holds the question too (#51), under "Needs you", at 390x844 and 360x640; it is answered there.
  const sessionPath = new URL(page.url()).pathname;
  let asked;
  for (const [width, height] of [[390, 844], [360, 640]]) {
    await page.setViewportSize({ width, height });
    await page.goto(`${base}/inbox`);
    asked = page.locator('[data-testid="needs-you"] .inbox-item').getByRole('region', { name: 'Question from the agent' });
    await asked.waitFor();
    if ((await asked.getByRole('button', { name: /Allow/ }).count()) !== 0) throw new Error(`the inbox's question offers Allow at ${width}x${height}`);
    const { bad: small } = await smallTargets(page);
    if (small.length) throw new Error(`controls under 44x44 on the inbox's question at ${width}x${height}: ${small.join('; ')}`);
    await page.screenshot({ path: shots(`question-01b-inbox-${width}.png`) });
  }
  const inboxAnswer = asked.getByRole('button', { name: 'Answer' });
  await asked.getByRole('radio', { name: /Postgres/ }).check();
  if (!(await inboxAnswer.isDisabled())) throw new Error('Answer is enabled with the second question unanswered');
  await asked.getByRole('checkbox', { name: /Metrics/ }).check();
  await asked.getByRole('checkbox', { name: /Tracing/ }).check();
  await inboxAnswer.click();
  await page.locator('[data-testid="needs-you"]').waitFor({ state: 'detached' });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}${sessionPath}`);
  ok('the inbox holds the question under "Needs you" at 390x844 and 360x640, and it is answered there');
  await page.locator('[data-testid="message"]').filter({ hasText: 'Postgres with metrics and tracing it is.' }).first().waitFor();
  await page.locator('[data-decision]', { hasText: 'Answered' }).first().waitFor();
  await page.screenshot({ path: shots('question-02-answered.png') });
  ok('one option and two of the other are sent; the card says Answered and the agent goes on');
});
