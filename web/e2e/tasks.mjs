// The backlog and schedules (issue #16), in Debian's Chromium at 390x844 (Edit and Run now at 360x640 too) against the real server and Claude Code:
// New session's "When" adds a task to the project's backlog (it runs, and the Tasks screen shows it done with its
// session) and a schedule (shown with its next time in its own zone; Edit in place; Pause and Resume; Delete, confirmed). Then the
// script's other device ("laptop") sets work going and is revoked on Devices: its waiting task and its schedule show as
// held, saying why, and Confirm puts each back; Run now adds a schedule's task at once.
// Started by tests/PocketCoder.Tests/Browser/BacklogBrowserTests.cs.
//
//   node e2e/tasks.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { ok, openSessionOptions, runPhoneScript, smallTargets } from './phone.mjs';

await runPhoneScript('tasks', 'Tasks phone', async ({ page, base, projectId, shots }) => {

  await page.locator('textarea[name="prompt"]').fill('Tidy the changelog');
  await openSessionOptions(page);
  await page.locator('input[name="when"][value="backlog"]').check();
  await page.getByRole('button', { name: 'Add to backlog' }).click();
  await page.waitForURL(new RegExp(`/p/${projectId}/tasks$`));
  const task = page.locator('[data-task]', { hasText: 'Tidy the changelog' });
  await task.waitFor();
  await page.locator('[data-task][data-status="done"]', { hasText: 'Tidy the changelog' }).waitFor();
  await task.getByRole('link', { name: 'Open' }).waitFor();
  ok('"After the project\'s other tasks" adds a task; it runs as a session and shows done, with its session to open');

  await page.goto(`${base}/p/${projectId}/new`);
  await page.locator('textarea[name="prompt"]').fill('Check for outdated dependencies');
  await openSessionOptions(page);
  await page.locator('input[name="when"][value="schedule"]').check();
  await page.locator('input[name="schedule-name"]').fill('Weekday check');
  await page.locator('select[name="repeat"]').selectOption('custom');
  await page.locator('input[name="cron"]').fill('0 9 * * 1-5');
  await page.locator('input[name="time-zone"]').fill('Europe/Berlin');
  const newScreen = await smallTargets(page);
  if (newScreen.bad.length) throw new Error(`controls under 44x44 on New session with a schedule: ${newScreen.bad.join('; ')}`);
  await page.getByRole('button', { name: 'Add schedule' }).click();
  await page.waitForURL(new RegExp(`/p/${projectId}/tasks$`));
  const schedule = page.locator('[data-schedule]', { hasText: 'Weekday check' });
  await schedule.locator('[data-testid="next-run"]', { hasText: 'Next:' }).waitFor();
  const next = await schedule.locator('[data-testid="next-run"]').innerText();
  if (!/09:00/.test(next)) throw new Error(`the next run reads "${next}", not 09:00 in the schedule's zone`);
  const { bad } = await smallTargets(page);
  if (bad.length) throw new Error(`controls under 44x44 on Tasks: ${bad.join('; ')}`);
  await page.screenshot({ path: shots('tasks-01-backlog-and-schedule.png') });
  ok('"On a schedule" adds a schedule, shown with its next time (09:00 in its own zone)');

  // Edit in place: new words and a new time; the form says the new words run on this phone's word. At 390x844, then at
  // 360x640 (#51: schedules can be edited), each edit read back after a reload.
  for (const [width, height, words, time] of [[390, 844, 'Check for outdated dependencies and security advisories', '10:30'],
    [360, 640, 'Check for outdated dependencies', '10:45']]) {
    await page.setViewportSize({ width, height });
    await schedule.getByRole('button', { name: 'Edit schedule: Weekday check' }).click();
    await schedule.locator('textarea[name="schedule-prompt"]').fill(words);
    await schedule.locator('[data-testid="runs-on-you"]').waitFor();
    await schedule.locator('input[name="time"]').fill(time);
    const editScreen = await smallTargets(page);
    if (editScreen.bad.length) throw new Error(`controls under 44x44 while editing a schedule at ${width}x${height}: ${editScreen.bad.join('; ')}`);
    const save = schedule.getByRole('button', { name: 'Save' });
    await save.scrollIntoViewIfNeeded();
    await page.screenshot({ path: shots(`tasks-01-edit-${width}.png`) });
    await save.click();
    await schedule.locator('[data-testid="next-run"]', { hasText: time }).waitFor();
    await page.reload();
    await schedule.getByRole('button', { name: 'Edit schedule: Weekday check' }).click();
    const saved = await schedule.locator('textarea[name="schedule-prompt"]').inputValue();
    if (saved !== words) throw new Error(`the schedule's words were not saved at ${width}x${height}: "${saved}"`);
    await schedule.getByRole('button', { name: 'Cancel' }).click();
  }
  await page.setViewportSize({ width: 390, height: 844 });
  ok('Edit changes a schedule\'s words and time in place, read back after a reload (390x844: 10:30, 360x640: 10:45)');

  await schedule.getByRole('button', { name: 'Pause' }).click();
  await schedule.locator('[data-testid="next-run"]', { hasText: 'Paused' }).waitFor();
  await schedule.getByRole('button', { name: 'Resume' }).click();
  await schedule.locator('[data-testid="next-run"]', { hasText: 'Next:' }).waitFor();
  await schedule.getByRole('button', { name: 'Delete…' }).click();
  await schedule.getByRole('button', { name: 'Delete it' }).click();
  await schedule.waitFor({ state: 'detached' });
  ok('a schedule is paused, resumed, and deleted after a confirmation');

  // The laptop's work: a task whose command waits for a decision (so the backlog waits behind it), a second task, a schedule.
  const laptop = async (method, path, body) => {
    const response = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${process.env.POCKETCODER_LAPTOP_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`laptop ${method} ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  await laptop('POST', `/api/projects/${projectId}/tasks`, { prompt: 'Run the linter', agent: 'claude-code' });
  const waiting = await laptop('POST', `/api/projects/${projectId}/tasks`, { prompt: 'Update the README', agent: 'claude-code' });
  await laptop('POST', `/api/projects/${projectId}/schedules`, { name: 'Nightly', cron: '0 2 * * *', prompt: 'Nightly check', agent: 'claude-code', mode: 'trusted' });

  await page.goto(`${base}/devices`);
  const device = page.locator('[data-device="laptop"]');
  await device.getByRole('button', { name: 'Revoke…' }).click();
  await device.getByRole('button', { name: 'Revoke', exact: true }).click();
  await device.locator('text=Revoked').waitFor();
  await page.goto(`${base}/p/${projectId}/tasks`);
  const held = page.locator(`[data-task="${waiting.id}"][data-status="held"]`);
  await held.locator('text=Held').first().waitFor();
  if (!(await held.innerText()).includes('"laptop"')) throw new Error(`the held task does not say why: ${await held.innerText()}`);
  const nightly = page.locator('[data-schedule]', { hasText: 'Nightly' });
  await nightly.locator('[data-testid="held"]', { hasText: '"laptop"' }).waitFor();
  await nightly.locator('[data-testid="next-run"]', { hasText: 'Paused' }).waitFor();
  if (await nightly.getByRole('button', { name: /^Run now/ }).count()) throw new Error('a held schedule offers Run now before it is confirmed');
  const heldScreen = await smallTargets(page);
  if (heldScreen.bad.length) throw new Error(`controls under 44x44 on Tasks with held work: ${heldScreen.bad.join('; ')}`);
  await page.screenshot({ path: shots('tasks-02-held.png') });
  ok('revoking the laptop on Devices holds its waiting task and its schedule; Tasks shows both held, saying why');

  await held.getByRole('button', { name: /^Confirm task/ }).click();
  await page.locator(`[data-task="${waiting.id}"][data-status="waiting"]`).waitFor();
  await nightly.getByRole('button', { name: 'Confirm' }).click();
  await nightly.locator('[data-testid="next-run"]', { hasText: 'Next:' }).waitFor();
  if (await nightly.locator('[data-testid="held"]').count()) throw new Error('the schedule still shows held after Confirm');
  ok('Confirm puts the task back in line and the schedule back on, in this phone\'s name');

  // Run now: the schedule's task joins the backlog at once (behind the task still waiting on its decision), at 390x844 and
  // again at 360x640 (#51): a task each time, and the schedule's next time does not move.
  const nextOf = async () => /Next: [^·]*/.exec(await nightly.locator('[data-testid="next-run"]').innerText())?.[0];
  const nextBefore = await nextOf();
  const added = page.locator('[data-task][data-status="waiting"]', { hasText: 'Nightly check' });
  for (const [count, [width, height]] of [[390, 844], [360, 640]].entries()) {
    await page.setViewportSize({ width, height });
    const run = nightly.getByRole('button', { name: 'Run now: Nightly' });
    await run.scrollIntoViewIfNeeded();
    const box = await run.boundingBox();
    if (!box || box.height < 44 || box.width < 44 || box.x < 0 || box.x + box.width > width) throw new Error(`Run now at ${width}x${height}: ${JSON.stringify(box)}`);
    await run.click();
    await nightly.locator('[data-testid="ran-now"]').waitFor();
    await added.nth(count).waitFor();
  }
  if ((await added.count()) !== 2) throw new Error(`two Run now made ${await added.count()} tasks`);
  if (!nextBefore || (await nextOf()) !== nextBefore) throw new Error('Run now moved the schedule\'s next time');
  await page.screenshot({ path: shots('tasks-03-run-now-360.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  ok('Run now adds the schedule\'s task to the backlog without moving its times (390x844, then 360x640)');
});
