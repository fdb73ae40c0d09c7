// The app's third pass, diffs and reading (issue #37), in Debian's Chromium at 390x844 against the real server and
// Claude Code: an approval's edit shown among its file's lines (numbers, context, the changed word), a reply's table and
// code block (coloured once the highlighter loads, copied with its button), a turn's diff file by file with wrapped
// lines hanging at their indent, two line comments (a long press, and a tap on a number) sent as one message, the git
// screen's diff in the same view, and Home telling apart two sessions whose prompts begin alike.
// Started by tests/PocketCoder.Tests/Browser/ThirdPassDiffsBrowserTests.cs (which checks the message the model got).
//
//   node e2e/third-pass-diffs.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { ok, runPhoneScript, smallTargets } from './phone.mjs';

const FIRST = 'Please update the answer in the app. Then tell me what changed.';
const SECOND = 'Please update the README with a license section.';

/** Every control on screen at least 44x44 (a line's number too, when it is a button). */
const measure = async (page, screen) => {
  const { bad, measured } = await smallTargets(page);
  if (measured === 0) throw new Error(`no controls measured on ${screen}`);
  if (bad.length) throw new Error(`controls under 44x44 on ${screen}: ${bad.join('; ')}`);
};

await runPhoneScript('third-pass-diffs', 'Third-pass phone', async ({ page, base, projectId, shots }) => {
  // 1. The approval's edit: the file's lines around it (sent by the server), true numbers, the changed word marked.
  await page.locator('textarea[name="prompt"]').fill(FIRST);
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  const sessionId = new URL(page.url()).pathname.split('/')[2];
  const card = page.locator('.approval.pending');
  await card.waitFor();
  const file = card.locator('.diff-file[data-path$="src/app.ts"]');
  await file.locator('.dl.ctx[data-new="2"]', { hasText: 'export function report(): string {' }).waitFor();
  await file.locator('.dl.del[data-old="4"]', { hasText: 'const answer = 41;' }).waitFor();
  await file.locator('.dl.add[data-new="4"] .word', { hasText: /^42$/ }).waitFor();
  await file.locator('.dl.ctx[data-new="6"]', { hasText: '}' }).waitFor();
  const numbers = await file.locator('.dl').evaluateAll((rows) => rows.map((r) => `${r.dataset.old ?? ''}/${r.dataset.new ?? ''}`));
  if (numbers.join(' ') !== '1/1 2/2 3/3 4/ /4 5/5 6/6') throw new Error(`the approval's edit is numbered ${numbers.join(' ')}`);
  await measure(page, 'approval with an edit');
  await page.screenshot({ path: shots('third-diffs-01-approval.png') });
  ok('an approval\'s edit shows the file\'s lines around it with their numbers, and the changed word within the changed line');

  // 2. The reply: a GFM table (scrolling inside its box) and a code block, coloured once the highlighter has loaded, copied with its button.
  await context(page).grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await card.getByRole('button', { name: 'Allow once' }).click();
  const reply = page.locator('.md', { hasText: 'Done.' });
  await reply.locator('table th', { hasText: 'File' }).waitFor();
  await reply.locator('table td.ar', { hasText: '41 → 42' }).waitFor();
  const box = await reply.locator('.md-table').evaluate((el) => getComputedStyle(el).overflowX);
  if (box !== 'auto') throw new Error(`the table's box does not scroll sideways (overflow-x ${box})`);
  await reply.locator('pre[data-lang="ts"] code .tok-keyword', { hasText: 'const' }).waitFor();
  const copy = reply.getByRole('button', { name: 'Copy code' });
  const size = await copy.boundingBox();
  if (!size || size.width < 44 || size.height < 44) throw new Error(`the copy button is ${JSON.stringify(size)}`);
  await copy.click();
  await reply.getByRole('button', { name: 'Copy code' }).filter({ hasText: 'Copied' }).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  if (copied !== 'const answer = 42;') throw new Error(`the clipboard holds ${JSON.stringify(copied)}`);
  const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  if (pageWidth > 390) throw new Error(`the page scrolls sideways (${pageWidth}px)`);
  await page.screenshot({ path: shots('third-diffs-02-reply.png') });
  ok('a reply\'s table renders as a table in a sideways-scrolling box; its code block is coloured and its 44px copy button copies it');

  // 3. The turn's diff: per file (with counts, folding), numbered, no git header noise, the long line hanging at its indent.
  await page.getByRole('link', { name: 'Review 1 changed file' }).click();
  const turnFile = page.locator('.diff-file[data-path="src/app.ts"]');
  await turnFile.locator('.diff-file-head', { hasText: '+1 −1' }).waitFor();
  await turnFile.locator('.dl.add[data-new="4"] .word', { hasText: /^42$/ }).waitFor();
  const shown = await page.locator('main').innerText();
  if (/diff --git|^index |^@@|^\+\+\+ |^--- /m.test(shown)) throw new Error(`git's header lines are shown:\n${shown}`);
  const hang = await turnFile.locator('.dl[data-new="5"] .dl-code').evaluate((code) => {
    // Where the first visible character sits, and where each wrapped row of the line starts.
    const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
    let node;
    let first = null;
    while (!first && (node = walker.nextNode())) {
      const at = node.textContent.search(/\S/);
      if (at >= 0) first = { node, at };
    }
    const range = document.createRange();
    range.setStart(first.node, first.at);
    range.setEnd(first.node, first.at + 1);
    const textLeft = range.getBoundingClientRect().left;
    range.selectNodeContents(code);
    const rows = new Map();
    for (const r of range.getClientRects()) {
      if (r.width === 0) continue;
      const top = Math.round(r.top);
      rows.set(top, Math.min(rows.get(top) ?? Infinity, r.left));
    }
    const starts = [...rows.entries()].sort((a, b) => a[0] - b[0]).map(([, left]) => left);
    return { textLeft, rows: starts.length, continuation: Math.min(...starts.slice(1)) };
  });
  if (hang.rows < 2) throw new Error(`the long line did not wrap (${JSON.stringify(hang)})`);
  if (hang.continuation < hang.textLeft - 0.5) throw new Error(`a wrapped row starts left of the line's indentation: ${JSON.stringify(hang)}`);
  await turnFile.locator('.diff-file-head').click();
  if (await turnFile.locator('.dl').count()) throw new Error('the file did not fold');
  await turnFile.locator('.diff-file-head').click();
  await turnFile.locator('.dl[data-new="4"]').waitFor();
  ok(`a turn's diff is per file with its counts and folds; numbered, no git headers; a wrapped line hangs at its indent (${hang.rows} rows)`);

  // 4. Comments on two lines, one by a long press and one by a tap on its number, gathered, then sent as one message.
  const row3 = turnFile.locator('.dl[data-new="3"] .dl-code');
  await row3.scrollIntoViewIfNeeded();
  const at = await row3.boundingBox();
  const cdp = await context(page).newCDPSession(page);
  const point = { x: Math.round(at.x + at.width / 2), y: Math.round(at.y + at.height / 2) };
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [point] });
  // A long press is a hold: the finger stays down past the app's 500 ms.
  await page.waitForTimeout(800);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  const sheet = page.getByRole('form', { name: 'Comment on a line' });
  await sheet.filter({ hasText: 'src/app.ts:3' }).waitFor();
  await sheet.getByRole('textbox', { name: 'Your comment' }).fill('Call it result.');
  await sheet.getByRole('button', { name: 'Add comment' }).click();
  // The visible way to the same: "Pick a line…" turns each line's number into a 44px button.
  if (await page.getByRole('button', { name: /^Comment on / }).count()) throw new Error('line buttons before picking');
  await page.getByRole('button', { name: 'Pick a line…' }).click();
  await measure(page, 'turn review, picking a line');
  await page.getByRole('button', { name: 'Comment on src/app.ts line 5' }).click();
  await sheet.filter({ hasText: 'src/app.ts:5' }).waitFor();
  await sheet.getByRole('textbox', { name: 'Your comment' }).fill('Shorten this line.');
  await sheet.getByRole('button', { name: 'Add comment' }).click();
  const tray = page.getByRole('region', { name: 'Your comments' });
  await tray.locator('.comment-item', { hasText: 'Call it result.' }).waitFor();
  await tray.locator('.comment-item', { hasText: 'Shorten this line.' }).waitFor();
  if (await turnFile.locator('.dl.commented').count() !== 2) throw new Error('the commented lines are not marked');
  await page.getByRole('button', { name: 'Done' }).click();
  await measure(page, 'turn review with comments');
  await page.screenshot({ path: shots('third-diffs-03-comments.png') });
  // One way to send it (#51): "Submit review" sends the summary and every comment together; no second button sends the comments alone.
  if (await page.getByRole('button', { name: /comments? to agent/ }).count()) throw new Error('a second way to send the comments is offered');
  await page.getByRole('textbox', { name: 'Anything else? (optional)' }).fill('Also keep the tests green.');
  for (const [width, height] of [[390, 844], [360, 640]]) {
    await page.setViewportSize({ width, height });
    const submit = page.getByRole('button', { name: 'Submit review (2 comments)' });
    await submit.scrollIntoViewIfNeeded();
    await measure(page, `turn review with comments at ${width}x${height}`);
    await page.screenshot({ path: shots(`third-diffs-03-comments-${width}.png`) });
  }
  await page.getByRole('button', { name: 'Submit review (2 comments)' }).click();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForURL(`${base}/s/${sessionId}`);
  const sent = page.locator('.user-bubble', { hasText: 'Also keep the tests green.' });
  await sent.filter({ hasText: 'Please fix these:' }).filter({ hasText: 'Shorten this line.' }).waitFor();
  await page.locator('.md', { hasText: 'Fixed both.' }).waitFor();
  ok('two line comments (a long press; "Pick a line…" and a tap on a 44px number) and a summary went to the agent as one submitted review (390x844, 360x640)');

  // 5. The git screen's diff is the same view (the branch's and a commit's use it too).
  await page.goto(`${base}/p/${projectId}/git/diff?path=src%2Fapp.ts&staged=false`);
  await page.locator('.diff-file[data-path="src/app.ts"] .dl.add[data-new="4"] .word', { hasText: /^42$/ }).waitFor();
  ok('the git screen shows a file\'s diff in the same numbered, word-marked view');

  // 6. Home: two sessions whose prompts share their first 18 characters read apart, each title whole.
  await page.goto(`${base}/p/${projectId}/new`);
  await page.locator('textarea[name="prompt"]').fill(SECOND);
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  await page.locator('.md', { hasText: 'Sure.' }).waitFor();
  const header = await page.locator('.appbar h1').innerText();
  if (header !== 'Please update the README with a license section') throw new Error(`the session's header reads "${header}"`);
  await page.goto(`${base}/`);
  const titles = page.locator('.session-title');
  await titles.filter({ hasText: 'Please update the README with a license section' }).waitFor();
  const read = await titles.evaluateAll((els) => els.map((el) => ({
    text: el.textContent, whole: el.scrollHeight <= el.clientHeight + 1 && el.scrollWidth <= el.clientWidth + 1,
  })));
  const expected = ['Please update the README with a license section', 'Please update the answer in the app'];
  if (JSON.stringify(read.map((t) => t.text).sort()) !== JSON.stringify([...expected].sort())) throw new Error(`Home's titles: ${JSON.stringify(read)}`);
  if (read.some((t) => !t.whole)) throw new Error(`a title is cut off on Home: ${JSON.stringify(read)}`);
  await page.screenshot({ path: shots('third-diffs-04-home.png') });
  ok('Home shows each session\'s short title whole: two prompts that begin alike read apart');
});

function context(page) {
  return page.context();
}
