// A session on a branch of its own (issue #16), in Debian's Chromium at 390x844 against the real server and Claude
// Code: started from New session "On a branch of its own", it says "Preparing" while its worktree is made (390x844 and
// 360x640; the test holds the making until this script writes --release), then its worktree bar shows the branch and the file it changed,
// and "Merge into main" brings the work into the project: the work the bar shows, refused once the worktree changed since;
// once merged the bar says so and offers Merge no more.
// Started by tests/PocketCoder.Tests/Browser/WorktreeBrowserTests.cs, which then checks the repository.
//
//   node e2e/worktree.mjs --url URL --code PAIRCODE --repo DIR --release FILE [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { writeFileSync } from 'node:fs';
import { ok, openSessionOptions, runPhoneScript, sessionHeaderWhole, smallTargets } from './phone.mjs';

await runPhoneScript('worktree', 'Worktree phone', async ({ page, base, projectId, shots, args }) => {
  // A merge commits as the project's identity: set it as the app's git screen would.
  const identity = await page.evaluate(async (id) => (await fetch(`/api/projects/${id}/git/identity`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Owner', email: 'owner@example.invalid' }),
  })).status, projectId);
  if (identity !== 200) throw new Error(`setting the git identity answered ${identity}`);

  await page.locator('textarea[name="prompt"]').fill('Write shared.txt');
  await openSessionOptions(page);
  await page.locator('input[name="mode"][value="trusted"]').check();
  await page.locator('input[name="place"][value="worktree"]').check();
  const { bad } = await smallTargets(page);
  if (bad.length) throw new Error(`controls under 44x44 on New session: ${bad.join('; ')}`);
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  // (#51) While its worktree is made (the test holds it until --release exists) the session says it is being prepared, at
  // 390x844 and 360x640: its status and what git is doing, no error; the API says so too (409 WORKTREE_UNAVAILABLE, "being
  // prepared"), not 404 "does not work in a worktree of its own".
  const preparingId = new URL(page.url()).pathname.split('/')[2];
  for (const [width, height] of [[390, 844], [360, 640]]) {
    await page.setViewportSize({ width, height });
    await page.reload();
    await page.locator('.appbar', { hasText: 'Preparing' }).waitFor();
    await sessionHeaderWhole(page);
    const note = page.locator('[data-testid="preparing"]');
    await note.filter({ hasText: /Preparing the worktree|Making the session's branch/ }).waitFor();
    const box = await note.boundingBox();
    if (!box || box.x < 0 || box.x + box.width > width) throw new Error(`the preparing note at ${width}x${height}: ${JSON.stringify(box)}`);
    if (await page.locator('[role="alert"]').count()) throw new Error(`an error shows while preparing: ${await page.locator('[role="alert"]').allInnerTexts()}`);
    const answer = await page.evaluate(async (id) => {
      const response = await fetch(`/api/sessions/${id}/worktree`);
      return { status: response.status, body: await response.json() };
    }, preparingId);
    if (answer.status !== 409 || answer.body.code !== 'WORKTREE_UNAVAILABLE' || !answer.body.detail.includes('being prepared')) {
      throw new Error(`GET /worktree while preparing answered ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    await page.screenshot({ path: shots(`worktree-00-preparing-${width}.png`) });
  }
  await page.setViewportSize({ width: 390, height: 844 });
  writeFileSync(args.release, 'go');
  ok('while its worktree is made the session says "Preparing" (the agent\'s name whole beside it), with no error, and its worktree answers 409 "being prepared" (390x844, 360x640)');
  await page.locator('.md', { hasText: 'Written.' }).waitFor();
  const bar = page.locator('[data-testid="worktree"]');
  await bar.locator('.worktree-summary', { hasText: 'pocketcoder/' }).waitFor();
  await bar.locator('.worktree-summary', { hasText: '1 file changed' }).waitFor();
  ok('a session started "on a branch of its own" shows its branch and the file it changed');

  await bar.locator('.worktree-summary').click();
  await bar.locator('li', { hasText: 'shared.txt' }).waitFor();
  const tapped = await smallTargets(page);
  if (tapped.bad.length) throw new Error(`controls under 44x44 on the worktree bar: ${tapped.bad.join('; ')}`);
  await page.screenshot({ path: shots('worktree-01-bar.png') });
  // A changed file opens as the branch has it (the session's worktree), not as the project folder has it.
  await bar.getByRole('link', { name: 'shared.txt' }).click();
  await page.locator('[data-testid="file-content"]', { hasText: 'from the branch' }).waitFor();
  ok('a changed file opens from the session\'s worktree');
  await page.goBack();
  await bar.locator('.worktree-summary').click();
  await bar.getByRole('link', { name: 'Diff' }).click();
  await page.locator('main', { hasText: '+from the branch' }).waitFor();
  ok('its Diff shows what the branch changed against where it started');
  await page.goBack();
  await bar.locator('.worktree-summary').click();
  await bar.getByRole('link', { name: 'Git' }).click();
  await page.locator('.appbar', { hasText: 'pocketcoder/' }).waitFor();
  await page.locator('main', { hasText: 'shared.txt' }).waitFor();
  ok('its Git screen shows the session\'s branch and what the agent changed there');
  await page.goBack();
  await bar.locator('.worktree-summary').click();
  await bar.getByRole('link', { name: 'Terminal' }).click();
  const input = page.getByRole('textbox', { name: 'Terminal input' });
  await input.fill('pwd');
  await page.getByRole('button', { name: 'Send to terminal' }).click();
  await page.locator('[data-testid="terminal-screen"]', { hasText: '/worktrees/' }).waitFor();
  ok('its Terminal is a shell in the session\'s worktree');
  await page.goBack();
  await bar.locator('.worktree-summary').click();
  await bar.getByRole('link', { name: 'shared.txt' }).waitFor();

  // Something writes to the worktree after the bar was shown (as a process the agent left running could): the merge the bar
  // offers is what it showed, so it is refused, and the bar shows the branch as it is now.
  const sessionId = new URL(page.url()).pathname.split('/')[2];
  const written = await page.evaluate(async ({ id, session }) => {
    const started = await fetch(`/api/projects/${id}/commands?session=${session}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: "echo 'written later' >> shared.txt" }),
    });
    const command = (await started.json()).id;
    return new Promise((resolve) => {
      const events = new EventSource(`/api/commands/${command}/events`);
      events.addEventListener('exit', (e) => { events.close(); resolve(JSON.parse(e.data).exitCode); });
    });
  }, { id: projectId, session: sessionId });
  if (written !== 0) throw new Error(`the command writing to the worktree exited ${written}`);
  await bar.getByRole('button', { name: 'Merge into main' }).click();
  await bar.locator('[role="alert"]', { hasText: 'changed since it was shown to you' }).waitFor();
  ok('a merge after the worktree changed behind the bar is refused');

  await bar.getByRole('button', { name: 'Merge into main' }).click();
  await bar.locator('[role="status"]', { hasText: 'fast-forward' }).waitFor();
  await page.screenshot({ path: shots('worktree-02-merged.png') });
  ok('"Merge into main" fast-forwards the base with the session\'s work');

  // Merged: the bar says so and offers Merge no more, after a reload too (the server's word, not the bar's memory).
  await bar.locator('[data-testid="merged"]', { hasText: 'Merged into main' }).waitFor();
  if (await bar.getByRole('button', { name: 'Merge into main' }).count()) throw new Error('the branch panel still offers Merge after the merge');
  for (const [width, height] of [[390, 844], [360, 640]]) {
    await page.setViewportSize({ width, height });
    await page.reload();
    await bar.locator('.worktree-summary').click();
    await bar.locator('[data-testid="merged"]', { hasText: 'Merged into main' }).waitFor();
    if (await bar.getByRole('button', { name: 'Merge into main' }).count()) throw new Error(`after a reload at ${width}x${height} the branch panel offers Merge for a merged branch`);
    await page.screenshot({ path: shots(`worktree-03-merged-${width}.png`) });
  }
  await page.setViewportSize({ width: 390, height: 844 });
  ok('once merged, the branch panel says "Merged into main" and offers Merge no more (after a reload, 390x844 and 360x640)');
}, { release: { type: 'string' } });
