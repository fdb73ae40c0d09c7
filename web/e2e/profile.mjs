// Agent profiles on the phone (issue #19), in Debian's Chromium at 390x844 against the real server and Claude Code: a
// profile made in the project's settings (its model picked from the list Claude Code names) is offered by New session, fills in its choices, and the session starts from
// it (its instructions reach the model, which the test checks).
// Started by tests/PocketCoder.Tests/Browser/ProfileBrowserTests.cs.
//
//   node e2e/profile.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { ok, openSessionOptions, runPhoneScript, smallTargets } from './phone.mjs';

await runPhoneScript('profile', 'Profile phone', async ({ page, base, projectId, shots }) => {
  await page.goto(`${base}/p/${projectId}/settings`);
  const section = page.getByRole('region', { name: 'Profiles' });
  await section.getByRole('button', { name: 'New profile' }).click();
  const form = section.getByRole('form', { name: 'New profile' });
  await form.locator('input[name="profile-name"]').fill('Planner');
  await form.locator('select[name="profile-mode"]').selectOption('plan');
  // The model is picked from what Claude Code itself names (asked of it once: no session has run yet), not typed.
  const model = form.locator('select[name="profile-model"]');
  await model.waitFor();
  const offered = await model.locator('option').allTextContents();
  if (!offered.some((o) => o.startsWith('Haiku')) || !offered.some((o) => o.startsWith('Sonnet')) || !offered.includes('Other…')) throw new Error(`the model list: ${offered.join(', ')}`);
  await model.selectOption('sonnet');
  await form.locator('textarea[name="profile-instructions"]').fill('Always end with the word pineapple.');
  await form.getByRole('button', { name: 'Save profile' }).click();
  const row = section.locator('[data-profile="Planner"]');
  await row.getByText('instructions').waitFor();
  if (!(await row.textContent())?.includes('sonnet')) throw new Error(`the profile does not name its model: ${await row.textContent()}`);
  const { bad } = await smallTargets(page);
  if (bad.length) throw new Error(`controls under 44x44 in settings: ${bad.join('; ')}`);
  await page.screenshot({ path: shots('profile-01-settings.png'), fullPage: true });
  ok('a profile is made in the project settings, its model picked from the agent\'s own list, and listed with what it chooses');

  await page.goto(`${base}/p/${projectId}/new`);
  await openSessionOptions(page);
  await page.getByRole('radio', { name: /Planner/ }).check();
  if (!(await page.getByRole('radio', { name: /^Plan Plans only/ }).isChecked())) throw new Error('the profile did not choose its mode');
  await page.locator('textarea[name="prompt"]').fill('Plan the work');
  await page.screenshot({ path: shots('profile-02-new-session.png'), fullPage: true });
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  await page.locator('[data-testid="message"]').filter({ hasText: 'Planned, pineapple.' }).first().waitFor();
  ok('New session offers the profile, takes its mode, and the session starts from it');
});
