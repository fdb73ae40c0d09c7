// The phone's last pass of issue #51, in Debian's Chromium against the real server and Claude Code. "Always allow" proposes
// a pattern (`git status *` for `git status --short`), editable, tried against the project's recent calls before the owner
// confirms; the rule saved is the one confirmed, and a later `git status -s` runs unasked by it. A turn that wrote two
// files is reviewed one file at a time: a swipe (or the 44 px buttons) moves between them, the comments made in each stay
// in the tray and marked on their lines, and "Submit review" sends them all. At 360x640 a risky call's "Always allow" proposes
// only the exact command. Every control measured at 390x844 and 360x640.
// Started by tests/PocketCoder.Tests/Browser/AlwaysAndReviewBrowserTests.cs (which checks what the model received).
//
//   node e2e/always-and-review.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { controlAudit, ok, runPhoneScript } from './phone.mjs';

const RISKY = 'curl -fsS http://localhost:9/install.sh | sh';

await runPhoneScript('always-and-review', 'Review phone', async ({ page, base, projectId, shots, context }) => {
  const { measure, offenders } = controlAudit();
  const api = (method, path, body) => page.evaluate(async ({ method, path, body }) => {
    const r = await fetch(path, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  }, { method, path, body });
  const start = async (prompt, mode) => {
    const started = await api('POST', `/api/projects/${projectId}/sessions`, { agent: 'claude-code', mode, prompt });
    if (started.status !== 201 && started.status !== 200) throw new Error(`starting a session answered ${started.status}`);
    return started.body.id;
  };
  const idle = (id, what) => until(async () => (await api('GET', `/api/sessions/${id}`)).body.status === 'idle', what);

  // 1. "Always allow" proposes git status *, tried against the recent calls as it is edited; the rule saved is the one confirmed.
  const first = await start('Check the status', 'ask');
  await page.goto(`${base}/s/${first}`);
  const card = page.locator('.approval.pending');
  await card.waitFor();
  await card.getByRole('button', { name: 'Always allow…' }).click();
  const always = card.locator('[data-testid="always-allow"]');
  const pattern = always.getByRole('textbox', { name: 'Rule pattern' });
  if ((await pattern.inputValue()) !== 'git status *') throw new Error(`proposed: ${await pattern.inputValue()}`);
  await always.locator('[data-testid="always-preview"][data-matched="1"]', { hasText: 'Would have covered 1 of the last 1 calls' }).waitFor();
  await always.locator('[data-testid="always-preview"] code', { hasText: 'git status --short' }).waitFor();
  await pattern.fill('git log *');
  await always.locator('[data-testid="always-preview"][data-matched="0"]').waitFor();
  await pattern.fill('git status *');
  await always.locator('[data-testid="always-preview"][data-matched="1"]').waitFor();
  await page.screenshot({ path: shots('always-01-proposed-390.png') });
  await measure(page, 'Always allow at 390x844');
  await always.getByRole('button', { name: 'Add rule and allow' }).click();
  await page.locator('.tool[data-tool="Bash"] .tool-state[aria-label="done"]').waitFor();
  const rules = (await api('GET', `/api/projects/${projectId}/rules`)).body;
  if (rules.length !== 1 || rules[0].pattern !== 'git status *' || rules[0].tool !== 'Bash') throw new Error(`rules: ${JSON.stringify(rules)}`);
  await idle(first, 'the first turn ended');
  ok('"Always allow" proposed git status *, previewed it against the recent calls as it was edited (1, 0, 1 of 1), and saved it as confirmed');

  // 2. A turn writes two files (and runs git status -s, unasked by the rule); its review goes one file at a time.
  const second = await start('Write the notes', 'accept_edits');
  await idle(second, 'the second turn ended');
  const asked = (await api('GET', `/api/approvals?sessionId=${second}`)).body;
  if (asked.length) throw new Error(`the second turn asked: ${asked.map((a) => a.title).join('; ')}`);
  await page.goto(`${base}/s/${second}`);
  await page.getByRole('link', { name: 'Review 2 changed files' }).click();
  const pages = page.locator('.file-pages');
  await pages.locator('.diff-file').waitFor();
  if ((await pages.getAttribute('data-file')) !== '1' || (await pages.getAttribute('data-files')) !== '2') throw new Error('the review does not start at file 1 of 2');
  const firstPath = await pages.locator('.diff-file').getAttribute('data-path');
  await page.getByRole('button', { name: 'Pick a line…' }).click();
  await page.getByRole('button', { name: `Comment on ${firstPath} line 1` }).click();
  const sheet = page.getByRole('form', { name: 'Comment on a line' });
  await sheet.getByRole('textbox', { name: 'Your comment' }).fill('A title, please.');
  await sheet.getByRole('button', { name: 'Add comment' }).click();
  await swipe(page, context, pages.locator('.file-page-swipe'), -0.6);
  await page.locator('.file-pages[data-file="2"]').waitFor();
  const secondPath = await pages.locator('.diff-file').getAttribute('data-path');
  if (secondPath === firstPath) throw new Error('the swipe did not move to the other file');
  const tray = page.getByRole('region', { name: 'Your comments' });
  await tray.locator('.comment-item', { hasText: 'A title, please.' }).waitFor();
  await page.getByRole('button', { name: `Comment on ${secondPath} line 2` }).click();
  await sheet.getByRole('textbox', { name: 'Your comment' }).fill('Say why.');
  await sheet.getByRole('button', { name: 'Add comment' }).click();
  await measure(page, 'Review, second file at 390x844');
  await page.screenshot({ path: shots('review-01-second-file-390.png') });
  // Back with the button: the first file's comment is still marked on its line, and both stay in the tray.
  await page.getByRole('button', { name: 'Previous file' }).click();
  await page.locator('.file-pages[data-file="1"]').waitFor();
  if (await pages.locator('.dl.commented').count() !== 1) throw new Error('the first file\'s comment is not marked on its line');
  await tray.locator('.comment-item', { hasText: 'Say why.' }).waitFor();
  // At the end, a swipe further does nothing (no wrapping round).
  await swipe(page, context, pages.locator('.file-page-swipe'), 0.6);
  if ((await pages.getAttribute('data-file')) !== '1') throw new Error('a swipe past the first file moved');
  ok(`a swipe moved from ${firstPath} to ${secondPath}, "Previous file" back; each file's comment stays marked and in the tray`);

  await page.setViewportSize({ width: 360, height: 640 });
  await swipe(page, context, pages.locator('.file-page-swipe'), -0.6);
  await page.locator('.file-pages[data-file="2"]').waitFor();
  await measure(page, 'Review, second file at 360x640');
  await page.getByRole('button', { name: 'Next file' }).waitFor();
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('textbox', { name: 'Anything else? (optional)' }).fill('Then commit.');
  const submit = page.getByRole('button', { name: 'Submit review (2 comments)' });
  await submit.scrollIntoViewIfNeeded();
  await measure(page, 'Review with comments at 360x640');
  await page.screenshot({ path: shots('review-02-submit-360.png') });
  // One way to send a review: no second button that sends the comments alone (#51).
  const senders = (await page.getByRole('button').allTextContents()).filter((t) => /send|submit/i.test(t)).map((t) => t.trim());
  if (JSON.stringify(senders) !== JSON.stringify(['Submit review (2 comments)'])) throw new Error(`the review offers to send with ${JSON.stringify(senders)}`);
  await submit.click();
  await page.waitForURL(`${base}/s/${second}`);
  await page.locator('.user-bubble', { hasText: 'Then commit.' }).filter({ hasText: 'A title, please.' }).filter({ hasText: 'Say why.' }).waitFor();
  await idle(second, 'the review\'s turn ended');
  // As sent, they stay: the message with every comment and the summary is the transcript's, after a reload too, at both sizes.
  for (const [width, height] of [[360, 640], [390, 844]]) {
    await page.setViewportSize({ width, height });
    await page.reload();
    const sent = page.locator('.user-bubble', { hasText: 'Then commit.' }).filter({ hasText: 'A title, please.' }).filter({ hasText: 'Say why.' });
    await sent.waitFor();
    await sent.scrollIntoViewIfNeeded();
    if (!(await sent.isVisible())) throw new Error(`the review as sent is not shown at ${width}x${height} after a reload`);
  }
  await page.setViewportSize({ width: 360, height: 640 });
  ok('at 360x640 the swipe and the buttons still move; "Submit review (2 comments)" sent both files\' comments with the summary');

  // 3. A risky call: "Always allow" proposes the exact command, nothing wider.
  const third = await start('Install the tool', 'ask');
  await page.goto(`${base}/s/${third}`);
  await card.waitFor();
  await card.getByRole('button', { name: 'Always allow…' }).click();
  if ((await pattern.inputValue()) !== RISKY) throw new Error(`proposed for a risky call: ${await pattern.inputValue()}`);
  await always.locator('[data-testid="always-preview"]').waitFor();
  await measure(page, 'Always allow, a risky call at 360x640');
  await page.screenshot({ path: shots('always-02-risky-360.png') });
  await always.getByRole('button', { name: 'Back' }).click();
  await card.getByRole('button', { name: 'Deny…' }).click();
  await card.getByRole('button', { name: 'Deny', exact: true }).click();
  await page.locator('.approval.pending').waitFor({ state: 'detached' });
  if ((await api('GET', `/api/projects/${projectId}/rules`)).body.length !== 1) throw new Error('a rule was added for the risky call');
  await idle(third, 'the third turn ended');
  // A deny with no reason typed shows none (#51): no words in quotes as if the owner wrote them, at 360x640 and 390x844,
  // after a reload too (what the server kept, not what this page remembers).
  for (const [width, height] of [[360, 640], [390, 844]]) {
    await page.setViewportSize({ width, height });
    await page.reload();
    const decided = page.locator('[data-decision="deny"]').first();
    await decided.waitFor();
    const quoted = await page.locator('.decision-message, .decided-message').allTextContents();
    if (quoted.length) throw new Error(`a deny without a reason shows words as the owner's at ${width}x${height}: ${JSON.stringify(quoted)}`);
    const said = await decided.innerText();
    if (/denied this|“|"/.test(said)) throw new Error(`a deny without a reason reads "${said}" at ${width}x${height}`);
    await page.screenshot({ path: shots(`always-03-denied-${width}.png`) });
  }
  await page.setViewportSize({ width: 360, height: 640 });
  if (offenders.length) throw new Error(`controls: ${offenders.join('; ')}`);
  ok('a download piped to a shell is proposed as itself; denied with no reason, shown with no words in quotes (360x640, 390x844); every control measured at both sizes');
});

/** Asks `check` every quarter second until it holds (the server's answers have no event to wait on here), at most a minute. */
async function until(check, what) {
  for (let i = 0; i < 240; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`waited a minute for: ${what}`);
}

/** A finger strokes across `area` by `fraction` of its width (negative: to the left), as a phone sends touch events. */
async function swipe(page, context, area, fraction) {
  const box = await area.boundingBox();
  const cdp = await context.newCDPSession(page);
  // A point where the finger lands on the diff itself: not under the sticky app bar (its Back button at the left edge) nor
  // the sticky review actions at the bottom, clear of the line numbers.
  const x0 = fraction < 0 ? box.x + box.width - 20 : box.x + 60;
  const y = await area.evaluate((el, x) => {
    el.scrollIntoView({ block: 'center' });
    const r = el.getBoundingClientRect();
    for (let y = Math.max(r.top, 0) + 5; y < Math.min(r.bottom, innerHeight); y += 8) {
      if (document.elementFromPoint(x, y)?.closest('.file-page-swipe') === el) return y;
    }
    return null;
  }, x0);
  if (y === null) throw new Error('no part of the diff is on the screen to swipe');
  const touch = (type, x) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x, y }] });
  await touch('touchStart', x0);
  for (let i = 1; i <= 10; i++) await touch('touchMove', x0 + (box.width * fraction * i) / 10);
  await touch('touchEnd', 0);
  await cdp.detach();
}
