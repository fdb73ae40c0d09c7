// Rewind and fork from the phone (issue #67), in Debian's Chromium at 390x844 and 360x640 against the real server and
// Claude Code, sandboxed as by default: two turns, each writing files; a file made by hand between them. Turn 1's review
// offers "Rewind to here": the confirmation lists what is put back, what is deleted and the hand-made file kept, with its
// buttons in view; the rewind makes a new session that keeps the title and says what happened in plain words, the files
// as before turn 1 and the hand-made one untouched; "Undo rewind…" brings the files back exactly. Fork from turn 2 starts a
// session on a branch of its own and leaves the project's files as they are.
// Started by tests/PocketCoder.Tests/Browser/RewindBrowserTests.cs, which then checks the repository.
//
//   node e2e/rewind.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ok, openSessionOptions, runPhoneScript, smallTargets } from './phone.mjs';

/** Fails unless the whole of the element is inside the viewport (what a thumb can reach without scrolling past the composer). */
async function inView(page, locator, what) {
  await locator.scrollIntoViewIfNeeded();
  const box = await locator.boundingBox();
  const { width, height } = page.viewportSize();
  if (!box || box.x < 0 || box.y < 0 || box.x + box.width > width || box.y + box.height > height) {
    throw new Error(`${what} is not in view at ${width}x${height}: ${JSON.stringify(box)}`);
  }
}

const read = (repo, file) => (existsSync(join(repo, file)) ? readFileSync(join(repo, file), 'utf8') : null);

function expectFiles(repo, expected, when) {
  for (const [file, content] of Object.entries(expected)) {
    const actual = read(repo, file);
    if (actual !== content) throw new Error(`${when}: ${file} is ${JSON.stringify(actual)}, expected ${JSON.stringify(content)}`);
  }
}

await runPhoneScript('rewind', 'Rewind phone', async ({ page, projectId, repo, shots }) => {
  // A fork makes a branch: commits there are the project's identity, as the app's git screen would set it.
  const identity = await page.evaluate(async (id) => (await fetch(`/api/projects/${id}/git/identity`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Owner', email: 'owner@example.invalid' }),
  })).status, projectId);
  if (identity !== 200) throw new Error(`setting the git identity answered ${identity}`);

  await page.locator('textarea[name="prompt"]').fill('Write agent.txt');
  await openSessionOptions(page);
  await page.locator('input[name="mode"][value="trusted"]').check();
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  const first = new URL(page.url()).pathname.split('/')[2];
  await page.locator('[data-testid="message"]').filter({ hasText: 'Turn one done.' }).waitFor();
  // The turn's end is its review link (the server has taken what the turn changed): a file made before that would be the turn's.
  await page.locator('.review-link[data-turn="1"]').waitFor();
  const title = await page.evaluate(async (id) => (await (await fetch(`/api/sessions/${id}`)).json()).title, first);

  // Between the turns the owner makes a file by hand: the agent never touched it.
  writeFileSync(join(repo, 'mine.txt'), 'made by hand\n');
  await page.getByRole('textbox', { name: 'Message' }).fill('Change agent.txt and write later.txt');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('[data-testid="message"]').filter({ hasText: 'Turn two done.' }).waitFor();
  await page.locator('.review-link[data-turn="2"]').waitFor();
  expectFiles(repo, { 'agent.txt': 'two\n', 'later.txt': 'later\n', 'mine.txt': 'made by hand\n' }, 'after turn 2');
  ok('two turns ran, each writing files, with a file made by hand between them');

  for (const [width, height] of [[390, 844], [360, 640]]) {
    await page.setViewportSize({ width, height });
    await page.goto(new URL(`/s/${first}/turn/1`, page.url()).toString());
    await page.getByRole('button', { name: 'Rewind to here' }).click();
    const preview = page.locator('[data-testid="rewind-preview"]');
    await preview.waitFor();
    await preview.locator('[data-testid="rewind-restore"] li', { hasText: 'agent.txt' }).waitFor();
    await preview.locator('[data-testid="rewind-delete"] li', { hasText: 'later.txt' }).waitFor();
    await preview.locator('[data-testid="rewind-kept"] li', { hasText: 'mine.txt' }).waitFor();
    if (await preview.locator('[data-testid="rewind-delete"] li', { hasText: 'mine.txt' }).count()) throw new Error('the hand-made file is listed to be deleted');
    await inView(page, page.getByRole('button', { name: 'Rewind', exact: true }), 'the Rewind button');
    const { bad } = await smallTargets(page);
    if (bad.length) throw new Error(`controls under 44x44 on the rewind confirmation at ${width}x${height}: ${bad.join('; ')}`);
    await page.screenshot({ path: shots(`rewind-01-confirm-${width}.png`) });
    if (width === 390) await page.getByRole('button', { name: 'Cancel' }).click();
  }
  ok('"Rewind to here" on turn 1 lists what is put back (agent.txt), deleted (later.txt) and kept (mine.txt, made by hand after it), its button in view (390x844, 360x640)');

  await page.getByRole('button', { name: 'Rewind', exact: true }).click();
  await page.waitForURL((url) => !url.pathname.includes(first) && /\/s\/[^/]+$/.test(url.pathname));
  const rewound = new URL(page.url()).pathname.split('/')[2];
  const notice = page.locator('.rewound');
  await notice.waitFor();
  const said = await notice.innerText();
  if (!/rewound|rewind|went back|before turn/i.test(said) || /terminal/i.test(said)) throw new Error(`the rewound session says: ${said}`);
  const newTitle = await page.evaluate(async (id) => (await (await fetch(`/api/sessions/${id}`)).json()).title, rewound);
  if (newTitle !== title) throw new Error(`the rewound session's title is ${JSON.stringify(newTitle)}, not ${JSON.stringify(title)}`);
  expectFiles(repo, { 'agent.txt': 'zero\n', 'later.txt': null, 'mine.txt': 'made by hand\n' }, 'after the rewind');
  await page.screenshot({ path: shots('rewind-02-rewound.png') });
  ok(`the rewind makes a new session with the same title, saying "${said.split('\n')[0]}"; files as before turn 1, the hand-made one kept`);

  await notice.getByRole('button', { name: 'Undo rewind…' }).click();
  await notice.getByRole('button', { name: 'Undo rewind', exact: true }).click();
  await page.waitForURL((url) => !url.pathname.includes(rewound) && /\/s\/[^/]+$/.test(url.pathname));
  const undone = new URL(page.url()).pathname.split('/')[2];
  expectFiles(repo, { 'agent.txt': 'two\n', 'later.txt': 'later\n', 'mine.txt': 'made by hand\n' }, 'after the undo');
  await page.screenshot({ path: shots('rewind-03-undone.png') });
  ok('"Undo rewind" brings the files back exactly as before the rewind, in a session of its own');

  await page.goto(new URL(`/s/${first}/turn/2`, page.url()).toString());
  await page.getByRole('button', { name: 'Fork from here' }).click();
  await page.locator('[data-testid="go-back-warning"]', { hasText: 'branch of its own' }).waitFor();
  await inView(page, page.getByRole('button', { name: 'Fork', exact: true }), 'the Fork button');
  await page.getByRole('button', { name: 'Fork', exact: true }).click();
  await page.waitForURL((url) => ![first, rewound, undone].some((id) => url.pathname.includes(id)) && /\/s\/[^/]+$/.test(url.pathname));
  await page.locator('[data-testid="worktree"] .worktree-summary', { hasText: 'pocketcoder/' }).waitFor();
  expectFiles(repo, { 'agent.txt': 'two\n', 'later.txt': 'later\n', 'mine.txt': 'made by hand\n' }, 'after the fork');
  await page.screenshot({ path: shots('rewind-04-forked.png') });
  ok('"Fork from here" starts a session on a branch of its own; the project\'s files stay as they are');
});
