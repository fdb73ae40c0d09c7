// Issue #37, third pass, at 390x844: adding a project and starting a session without fighting a phone keyboard.
//  - New session is one screen: the prompt and Start on it, the options folded into a line that says what they are;
//  - on the next visit the agents show at once (remembered), even while the server's answer is held back;
//  - "every weekday at 9:00" is picked, not typed: its next runs show, and the schedule is saved with `0 9 * * 1-5`;
//  - a project's folder is picked from suggestions (a repository under home, a folder Claude Code worked in) or by
//    browsing the owner's home (hidden folders on request, a link out of home never shown), then added;
//  - (#51, 390x844 and 360x640) New session lists installed agents first; Add project takes ~/… and names a folder
//    already added by its project's name.
// Started by tests/PocketCoder.Tests/Browser/ThirdPassNewSessionBrowserTests.cs.
//
//   node e2e/third-pass-new.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { ok, openSessionOptions, runPhoneScript, smallTargets } from './phone.mjs';

const VIEWPORT = 844;

await runPhoneScript('third-pass-new', 'Third pass phone', async ({ page, base, projectId, shots }) => {
  const api = (path) => page.evaluate(async (p) => (await fetch(p)).json(), path);
  const inFirstScreen = async (locator, what) => {
    const box = await locator.boundingBox();
    if (!box || box.y < 0 || box.y + box.height > VIEWPORT) throw new Error(`${what} is not on the first screen: ${JSON.stringify(box)}`);
  };

  // 1. New session, as the project was just added: one screen, the options one line.
  const summary = page.getByTestId('options-summary');
  await summary.filter({ hasText: 'Claude Code' }).waitFor();
  await inFirstScreen(page.locator('textarea[name="prompt"]'), 'the prompt');
  await inFirstScreen(page.getByRole('button', { name: 'Start session' }), 'Start');
  const [height, bottom] = await page.evaluate(() => [document.scrollingElement.scrollHeight, Math.round(document.querySelector('main form').getBoundingClientRect().bottom)]);
  if (height > VIEWPORT || bottom > VIEWPORT) throw new Error(`New session is ${height} px tall, its form ends at ${bottom} px: more than one screen`);
  for (const part of ['Claude Code', 'Ask', 'Project folder', 'Now']) {
    if (!(await summary.textContent()).includes(part)) throw new Error(`the options line does not say "${part}": ${await summary.textContent()}`);
  }
  const first = await smallTargets(page);
  if (first.bad.length) throw new Error(`controls under 44x44 on New session: ${first.bad.join('; ')}`);
  await page.screenshot({ path: shots('third-pass-new-01-composer.png') });
  ok(`New session fits one screen (its form ends at ${bottom} px): the prompt and Start on it, the options one line ("${await summary.textContent()}")`);

  // 2. The next visit: the agents are remembered, shown before the server answers (its answer held back meanwhile).
  const held = [];
  await page.route('**/api/health', (route) => void held.push(route));
  await page.goto(`${base}/p/${projectId}/new`);
  await page.getByRole('heading', { name: 'New session' }).waitFor();
  await summary.filter({ hasText: 'Claude Code' }).waitFor();
  if (await page.getByText('Looking for', { exact: false }).count()) throw new Error('New session waits for the agents again');
  if (!held.length) throw new Error('New session did not ask the server for the agents again (behind the remembered list)');
  if (!(await page.getByRole('button', { name: 'Start session' }).isEnabled())) throw new Error('Start waits for the agents');
  await Promise.all(held.map((route) => route.continue()));
  await page.unroute('**/api/health');
  ok('the second visit shows the agents at once, from the last visit, while the server is asked again behind');

  // 3. A schedule picked as words: every weekday at 9:00, its next three runs shown, saved as 0 9 * * 1-5.
  await page.locator('textarea[name="prompt"]').fill('Check for outdated dependencies');
  await openSessionOptions(page);
  await page.locator('input[name="when"][value="schedule"]').check();
  const repeat = page.locator('select[name="repeat"]');
  await repeat.selectOption('daily');
  await repeat.selectOption({ label: 'Every weekday' });
  await page.locator('input[name="time"]').fill('09:00');
  const runs = page.getByTestId('next-runs').locator('li');
  await runs.nth(2).waitFor();
  const shown = await runs.allTextContents();
  if (shown.length !== 3) throw new Error(`expected the next 3 runs, got ${JSON.stringify(shown)}`);
  if (!shown.every((run) => run.includes('09:00') && !/Sat|Sun/.test(run))) throw new Error(`the next runs are not weekdays at 09:00: ${JSON.stringify(shown)}`);
  if (await page.locator('input[name="cron"]').count()) throw new Error('a preset still asks for a cron expression');
  if (!(await summary.textContent()).includes('Weekdays at 09:00')) throw new Error(`the options line does not say the schedule: ${await summary.textContent()}`);
  const scheduled = await smallTargets(page);
  if (scheduled.bad.length) throw new Error(`controls under 44x44 on New session with a schedule: ${scheduled.bad.join('; ')}`);
  await page.screenshot({ path: shots('third-pass-new-02-schedule.png'), fullPage: true });
  await page.getByRole('button', { name: 'Add schedule' }).click();
  await page.waitForURL(new RegExp(`/p/${projectId}/tasks$`));
  const schedules = await api(`/api/projects/${projectId}/schedules`);
  const saved = schedules.find((s) => s.prompt === 'Check for outdated dependencies');
  if (saved?.cron !== '0 9 * * 1-5') throw new Error(`the schedule was saved as ${JSON.stringify(saved)}`);
  await page.getByText('Weekdays at 09:00').first().waitFor();
  ok(`"Every weekday" at 09:00 shows the next runs (${shown.join(' | ')}) and saves the schedule as 0 9 * * 1-5, listed in words`);

  // 4. Add project: suggestions first, no path to type.
  await page.goto(`${base}/`);
  await page.getByRole('button', { name: 'Add project' }).click();
  const repositories = page.getByRole('region', { name: 'Repositories in your home folder' });
  await repositories.getByRole('button', { name: '~/code/webapp' }).waitFor();
  const worked = page.getByRole('region', { name: 'Your agents worked in' });
  await worked.getByRole('button', { name: /~\/scratch\/experiment.*Claude Code/ }).waitFor();
  const pathInput = page.locator('input[name="path"]');
  await worked.getByRole('button', { name: /~\/scratch\/experiment/ }).click();
  const home = (await pathInput.inputValue()).replace(/\/scratch\/experiment$/, '');
  if (!home || home === (await pathInput.inputValue())) throw new Error(`picking a suggestion did not fill in its folder: ${await pathInput.inputValue()}`);
  const suggested = await smallTargets(page);
  if (suggested.bad.length) throw new Error(`controls under 44x44 in Add project: ${suggested.bad.join('; ')}`);
  await page.screenshot({ path: shots('third-pass-new-03-suggestions.png'), fullPage: true });
  ok('Add project suggests a repository under home and the folder Claude Code worked in; a tap picks one');

  // 5. Browsing home: folders only, hidden ones on request, nothing through a link out of home; a folder picked and added.
  await page.getByRole('button', { name: 'Browse your home folder' }).click();
  const browser = page.getByRole('region', { name: 'Browse folders' });
  const here = browser.locator('.folder-here');
  await here.filter({ hasText: /^~$/ }).waitFor();
  const names = async () => (await browser.locator('.folder-list .folder-name').allTextContents()).sort();
  await browser.locator('.folder-name', { hasText: 'code' }).first().waitFor();
  const visible = await names();
  if (JSON.stringify(visible) !== JSON.stringify(['code', 'scratch'])) throw new Error(`home lists ${JSON.stringify(visible)}`);
  if (!(await browser.getByRole('button', { name: 'Up one folder' }).isDisabled())) throw new Error('Up is offered above home');
  await browser.locator('input[name="hidden-folders"]').check();
  await browser.locator('.folder-name', { hasText: '.secret-stuff' }).waitFor();
  if ((await names()).includes('escape')) throw new Error('a link out of home is listed');
  await browser.locator('input[name="hidden-folders"]').uncheck();
  await browser.locator('.folder-name', { hasText: '.secret-stuff' }).waitFor({ state: 'detached' });
  await browser.getByRole('button', { name: /^code/ }).click();
  await here.filter({ hasText: '~/code' }).waitFor();
  await browser.getByRole('button', { name: /^webapp/ }).click();
  await here.filter({ hasText: '~/code/webapp' }).waitFor();
  const browsing = await smallTargets(page);
  if (browsing.bad.length) throw new Error(`controls under 44x44 in the folder browser: ${browsing.bad.join('; ')}`);
  await browser.getByRole('button', { name: 'Use ~/code/webapp' }).click();
  if ((await pathInput.inputValue()) !== `${home}/code/webapp`) throw new Error(`"Use" did not pick the folder: ${await pathInput.inputValue()}`);
  await page.screenshot({ path: shots('third-pass-new-04-browser.png'), fullPage: true });
  await page.locator('form button[type="submit"]', { hasText: 'Add project' }).click();
  await page.getByRole('heading', { name: 'New session' }).waitFor();
  const added = await api(`/api/projects/${new URL(page.url()).pathname.split('/')[2]}`);
  if (added.path !== `${home}/code/webapp`) throw new Error(`the project added is ${added.path}`);
  ok('browsing home shows folders only (hidden on request, no link out of it); ~/code/webapp is picked with "Use" and added');

  // 6. (#51) New session's agents: the installed ones first, then the others with how to install them (390x844, 360x640).
  for (const [width, height] of [[390, 844], [360, 640]]) {
    await page.setViewportSize({ width, height });
    await page.goto(`${base}/p/${projectId}/new`);
    await openSessionOptions(page);
    const agents = page.locator('fieldset', { has: page.locator('legend', { hasText: 'Agent' }) }).locator('label.choice');
    await agents.first().waitFor();
    const listed = await agents.evaluateAll((labels) => labels.map((l) => ({
      name: l.querySelector('strong').textContent, installed: !l.querySelector('input').disabled, said: l.innerText,
    })));
    const firstMissing = listed.findIndex((a) => !a.installed);
    if (listed[0]?.name !== 'Claude Code' || !listed[0].installed) throw new Error(`the first agent at ${width}x${height} is ${JSON.stringify(listed[0])}`);
    if (firstMissing < 0 || listed.slice(firstMissing).some((a) => a.installed)) throw new Error(`installed agents are not all first at ${width}x${height}: ${JSON.stringify(listed)}`);
    if (!listed.slice(firstMissing).every((a) => /install|not found|not available/i.test(a.said))) throw new Error(`an agent not installed says nothing of how to install it: ${JSON.stringify(listed)}`);
    const wide = await page.evaluate(() => document.scrollingElement.scrollWidth);
    if (wide > width) throw new Error(`the agents' install help widens the page to ${wide} px at ${width}x${height}`);
    const box = await agents.first().boundingBox();
    if (!box || box.x < 0 || box.x + box.width > width) throw new Error(`the installed agent at ${width}x${height}: ${JSON.stringify(box)}`);
    await page.screenshot({ path: shots(`third-pass-new-05-agents-${width}.png`), fullPage: true });
  }
  ok('New session lists the installed agent first, the others after it with how to install them (390x844, 360x640)');

  // 7. (#51) Add project takes a path typed as in a shell, ~/…, and names a folder already added by its project's name.
  for (const [width, height, typed] of [[390, 844, '~/scratch/experiment'], [360, 640, '~/code']]) {
    await page.setViewportSize({ width, height });
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: 'Add project' }).click();
    await pathInput.fill('~/code/webapp');
    await page.locator('form button[type="submit"]', { hasText: 'Add project' }).click();
    const refused = page.getByRole('alert').filter({ hasText: 'already added' });
    await refused.waitFor();
    const said = await refused.innerText();
    if (!said.includes('"webapp"') || said.includes(added.id)) throw new Error(`a folder already added is named "${said}" at ${width}x${height}`);
    const wide = await page.evaluate(() => document.scrollingElement.scrollWidth);
    if (wide > width) throw new Error(`the refusal widens the page to ${wide} px at ${width}x${height}`);
    await page.screenshot({ path: shots(`third-pass-new-06-already-${width}.png`) });
    await pathInput.fill(typed);
    await page.locator('form button[type="submit"]', { hasText: 'Add project' }).click();
    await page.getByRole('heading', { name: 'New session' }).waitFor();
    const made = await api(`/api/projects/${new URL(page.url()).pathname.split('/')[2]}`);
    if (made.path !== typed.replace('~', home)) throw new Error(`"${typed}" added ${made.path} at ${width}x${height}`);
  }
  await page.setViewportSize({ width: 390, height: 844 });
  ok('Add project takes ~/scratch/experiment (390x844) and ~/code (360x640) under home, and names ~/code/webapp, already added, "webapp" (both sizes)');
});
