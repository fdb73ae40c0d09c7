// The session screen's third pass (issue #37), in Debian's Chromium at 390x844 against the real server and Claude Code:
//  - a command edited before it is allowed: its row shows what ran, and "Asked for: …" the original on expand;
//  - the ⋯ menu from a transcript scrolled to the bottom: a bottom sheet in view, focus kept inside, Escape and a tap on
//    the page close it, its actions work (Archive);
//  - a card of three questions opens at its first question; once answered its row says what was answered;
//  - (#51) the owner's message as typed with its link visible; a long command's card at 390x844 and 360x640 (the command
//    once, folded, Allow and Deny in view with its head, the wider allows secondary); a stopped turn reads as stopped;
//  - a commit (Git screen) and a merge (a session's branch) without a git author ask for one in place, then go on;
//  - on every screen visited: no control clipped, no form control under 16 px, no API path in the text, and the file
//    editor's and the turn review's buttons off the screen's edges.
// Each check is reported on its own ("FAIL - …" and on to the next where the next can still run), so a run against the
// app before these changes lists everything it got wrong. Started by tests/PocketCoder.Tests/Browser/ThirdPassSessionBrowserTests.cs.
//
//   node e2e/third-pass-session.mjs --url URL --code PAIRCODE --repo DIR --command EDITED --asked ASKED --repo2 DIR --long COMMAND [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failures.

import { addProject, clippedControls, ok, openSessionOptions, runPhoneScript, sessionHeaderWhole, smallFontControls, smallTargets } from './phone.mjs';

const failures = [];
/** One check: its failure is reported and remembered, and the script goes on to the next. */
async function check(what, work) {
  try {
    await work();
    ok(what);
  } catch (e) {
    failures.push(what);
    console.log(`FAIL - ${what}: ${String(e?.message ?? e).split('\n').slice(0, 6).join('\n    ')}`);
  }
}

const SHORT = { timeout: 8000 };

await runPhoneScript('third-pass-session', 'Third-pass phone', async ({ page, base, projectId, args, shots }) => {
  /** The screen as the owner sees it: nothing clipped, no control under 16 px, no API path in its text. */
  const screenIsClean = async (screen) => {
    const clipped = await clippedControls(page);
    if (clipped.measured === 0) throw new Error(`no controls measured on ${screen}`);
    const fonts = await smallFontControls(page);
    const text = await page.evaluate(() => document.body.innerText);
    const paths = text.split('\n').filter((line) => /\/api\//.test(line));
    const problems = [
      ...clipped.bad.map((b) => `clipped: ${b}`),
      ...fonts.bad.map((b) => `under 16 px: ${b}`),
      ...paths.map((l) => `API path shown: ${l.trim().slice(0, 160)}`),
    ];
    if (problems.length) throw new Error(`${screen}:\n${problems.join('\n')}`);
  };
  /** Buttons in `selector` touching the screen's edges (under 12 px from either side). */
  const offTheEdges = async (selector, screen) => {
    const boxes = await page.locator(selector).evaluateAll((els) => els.filter((el) => el.getClientRects().length > 0)
      .map((el) => { const r = el.getBoundingClientRect(); return { name: el.textContent.trim(), left: r.left, right: window.innerWidth - r.right }; }));
    if (boxes.length === 0) throw new Error(`no buttons found on ${screen}`);
    const flush = boxes.filter((b) => b.left < 12 || b.right < 12);
    if (flush.length) throw new Error(`${screen}: buttons at the screen's edge: ${JSON.stringify(flush)}`);
  };
  const sheet = page.getByRole('dialog', { name: 'Session actions' });
  const menuButton = page.getByRole('button', { name: 'Session actions' });
  const toBottom = () => page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));

  // 1. A command edited before it is allowed.
  await page.locator('textarea[name="prompt"]').fill('Write a file, then tell me about it');
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  const sessionPath = new URL(page.url()).pathname;
  const card = page.locator('.approval.pending');
  await card.getByRole('button', { name: 'Edit, then allow…' }).click();
  await card.locator('textarea.mono').fill(args.command);
  await card.getByRole('button', { name: 'Allow edited' }).click();
  const row = page.locator('.tool[data-tool="Bash"]');
  await row.locator('.tool-state[aria-label="done"]').waitFor();
  await page.locator('[data-testid="message"]', { hasText: 'After 24:' }).waitFor();
  await check('an edited command: the row shows what ran, and "Asked for" the original when opened', async () => {
    const title = (await row.locator('.tool-title').innerText()).trim();
    if (title !== args.command) throw new Error(`the row shows "${title}", not the command that ran ("${args.command}")`);
    await row.locator('.tool-head').click();
    await row.locator('[data-testid="asked-for"]', { hasText: `Asked for: ${args.asked}` }).waitFor(SHORT);
    await row.locator('.tool-body pre.code', { hasText: args.command }).first().waitFor(SHORT);
    await page.screenshot({ path: shots('third-01-edited-row.png') });
    await row.locator('.tool-head').click();
  });

  // 2. The ⋯ menu from the bottom of a long transcript.
  await check('⋯ from a transcript scrolled to the bottom opens a sheet in view; Escape, a tap on the page and focus stay right', async () => {
    await toBottom();
    const scrolled = await page.evaluate(() => window.scrollY);
    if (scrolled < 844) throw new Error(`the transcript is not long enough to test from its bottom (scrolled ${scrolled}px)`);
    await menuButton.click();
    await sheet.waitFor(SHORT);
    const archive = sheet.getByRole('button', { name: 'Archive…' });
    const box = await archive.boundingBox();
    if (!box || box.y < 0 || box.y + box.height > 844) throw new Error(`Archive… is not in the viewport: ${JSON.stringify(box)}`);
    const { bad } = await smallTargets(page);
    if (bad.length) throw new Error(`controls under 44x44 with the sheet open: ${bad.join('; ')}`);
    await page.screenshot({ path: shots('third-02-sheet.png') });
    // Focus moved into the sheet and Tab keeps it there.
    for (let i = 0; i < 6; i++) {
      if (!(await page.evaluate(() => !!document.activeElement?.closest('[role="dialog"]')))) throw new Error(`focus left the sheet after ${i} Tab presses`);
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Escape');
    await sheet.waitFor({ state: 'hidden', ...SHORT });
    await menuButton.click();
    await sheet.waitFor(SHORT);
    await page.mouse.click(195, 120);
    await sheet.waitFor({ state: 'hidden', ...SHORT });
  });

  // 3. A card of three questions, taller than the screen, opens at its first question.
  await page.getByRole('textbox', { name: 'Message' }).fill('Ask me what you need');
  await page.getByRole('button', { name: 'Send' }).click();
  const question = page.getByRole('region', { name: 'Question from the agent' });
  await question.waitFor();
  await check('a question card taller than the screen opens with its first question in view', async () => {
    // Give the screen its frame to follow the stream, as it does on every event.
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    const first = await question.locator('fieldset[data-question="0"] legend').boundingBox();
    const bar = await page.locator('.appbar').boundingBox();
    const composer = await page.locator('.composer').boundingBox();
    if (!first || !bar || !composer || first.y < bar.y + bar.height || first.y + first.height > composer.y) {
      throw new Error(`the first question is out of view: ${JSON.stringify({ first, bar, composer })}`);
    }
    await page.screenshot({ path: shots('third-03-question.png') });
  });
  await question.getByRole('radio', { name: /Postgres/ }).check();
  await question.getByRole('checkbox', { name: /Metrics/ }).check();
  await question.getByRole('checkbox', { name: /Tracing/ }).check();
  await question.getByRole('radio', { name: /A container/ }).check();
  await question.getByRole('button', { name: 'Answer' }).click();
  await page.locator('[data-testid="message"]', { hasText: 'in a container.' }).waitFor();
  await check('the answered question says what was answered', async () => {
    const decided = page.locator('.decision, .approval.decided').filter({ hasText: 'Answered' }).first();
    await decided.waitFor(SHORT);
    const text = await decided.innerText();
    for (const answer of ['Postgres', 'Metrics, Tracing', 'A container']) if (!text.includes(answer)) throw new Error(`"${text}" does not say "${answer}"`);
  });

  await check('the session screen: nothing clipped (the composer\'s placeholder), controls at 16 px, no API path', async () => {
    await toBottom();
    await screenIsClean('session');
  });

  // 3b. (#51) The owner's own message as typed, its link visible; a long command's card; a stopped turn.
  const typed = 'Run the long script, see https://example.com/docs/long-script\n    keep   this   indentation';
  await page.getByRole('textbox', { name: 'Message' }).fill(typed);
  await page.getByRole('button', { name: 'Send' }).click();
  const longCard = page.locator('.approval.pending');
  await longCard.waitFor();
  for (const [width, height] of [[390, 844], [360, 640]]) {
    await check(`the owner's own message is shown as typed (indentation kept, not markdown), its link visible in the bubble, at ${width}x${height}`, async () => {
      await page.setViewportSize({ width, height });
      const bubble = page.locator('.user-bubble', { hasText: 'Run the long script' });
      const shown = await bubble.evaluate((el) => el.innerText);
      if (!shown.includes('\n    keep   this   indentation')) throw new Error(`the message reads ${JSON.stringify(shown)}`);
      // Indented text as markdown would be a code block: it must stay the owner's words.
      if (await bubble.locator('pre, code, p + p').count()) throw new Error('the owner\'s message is rendered as markdown');
      const link = bubble.getByRole('link', { name: 'https://example.com/docs/long-script' });
      const look = await link.evaluate((a) => {
        const own = getComputedStyle(a);
        return { color: own.color, background: getComputedStyle(a.closest('.user-bubble')).backgroundColor, line: own.textDecorationLine };
      });
      if (look.color === look.background || !look.line.includes('underline')) throw new Error(`the link does not stand out: ${JSON.stringify(look)}`);
      const box = await bubble.boundingBox();
      if (!box || box.x < 0 || box.x + box.width > width) throw new Error(`the message runs off the screen: ${JSON.stringify(box)}`);
    });
  }
  for (const [width, height] of [[390, 844], [360, 640]]) {
    await check(`a long command's card at ${width}x${height}: the command once, folded; Allow and Deny in view with it; the wider allows secondary`, async () => {
      await page.setViewportSize({ width, height });
      const times = (await longCard.evaluate((el) => el.innerText)).split(args.long.split('\n')[0]).length - 1;
      if (times !== 1) throw new Error(`the command's first line is shown ${times} times`);
      await longCard.getByRole('button', { name: /^Show the whole command/ }).waitFor(SHORT);
      // The server's reading of the call, in words: a download piped into a shell must not look like `ls`.
      const signs = (await longCard.locator('[data-testid="risk-signs"] li').allInnerTexts()).map((t) => t.trim());
      if (JSON.stringify(signs) !== JSON.stringify(['Downloads and runs a script', 'Uses the network'])) throw new Error(`the card's risk words: ${JSON.stringify(signs)}`);
      // The card from its head: what is asked and the two buttons that decide it, on one screen above the message box.
      const headerBottom = await page.locator('.appbar').evaluate((el) => el.getBoundingClientRect().bottom);
      await longCard.evaluate((el, top) => window.scrollBy(0, el.getBoundingClientRect().top - top - 8), headerBottom);
      const composerTop = await page.locator('.composer').evaluate((el) => el.getBoundingClientRect().top);
      for (const name of ['Deny…', 'Allow once']) {
        const box = await longCard.getByRole('button', { name, exact: true }).boundingBox();
        if (!box || box.y < headerBottom || box.y + box.height > Math.min(height, composerTop)) {
          throw new Error(`${name} is out of view with the card's head: ${JSON.stringify(box)} (message box at ${composerTop})`);
        }
      }
      const look = (name) => longCard.getByRole('button', { name, exact: true }).evaluate((el) => {
        const s = getComputedStyle(el);
        return { background: s.backgroundColor, border: s.borderTopWidth, weight: Number(s.fontWeight) };
      });
      const [allow, all] = [await look('Allow once'), await look('All Bash this session')];
      if (all.background === allow.background || all.weight >= allow.weight || all.border !== '0px') {
        throw new Error(`"All Bash this session" weighs as much as Allow once: ${JSON.stringify({ allow, all })}`);
      }
      // What the wider allow would let through, said on the card (a tooltip is nothing on a phone).
      const covers = longCard.locator('[data-testid="session-covers"]');
      if (!(await covers.isVisible()) || !(await covers.innerText()).includes('every later Bash call of this session runs unasked, whatever its command')) {
        throw new Error(`the card does not say what "All Bash this session" covers: ${await covers.count() ? await covers.innerText() : 'nothing'}`);
      }
      const { bad } = await smallTargets(page);
      if (bad.length) throw new Error(`controls under 44x44: ${bad.join('; ')}`);
      // The header with the widest badge, "Waiting for you" (#51): the agent's name whole beside it.
      await page.locator('.appbar .badge', { hasText: 'Waiting for you' }).waitFor(SHORT);
      await sessionHeaderWhole(page);
      await screenIsClean(`the long command's card at ${width}x${height}`);
      await page.screenshot({ path: shots(`third-03b-long-card-${width}.png`) });
    });
  }
  // Stopped at 360x640, read there and at 390x844.
  await page.getByRole('button', { name: 'Stop turn' }).click();
  await check('a stopped turn reads as stopped: not an error, and no "0 in · 0 out" (360x640, 390x844)', async () => {
    await page.locator('.notice', { hasText: 'Turn stopped' }).waitFor(SHORT);
    await page.locator('.approval.pending').waitFor({ state: 'detached', ...SHORT });
    for (const [width, height] of [[360, 640], [390, 844]]) {
      await page.setViewportSize({ width, height });
      const text = await page.locator('main').innerText();
      if (/ended with an error/.test(text)) throw new Error('the stopped turn reads as an error');
      if (/\b0 in · 0 out/.test(text)) throw new Error('the stopped turn shows "0 in · 0 out"');
      // The header (#51): opaque over the transcript, and the agent's name whole beside the status badge.
      await sessionHeaderWhole(page);
      await screenIsClean(`the stopped turn at ${width}x${height}`);
      await page.screenshot({ path: shots(`third-03c-stopped-${width}.png`) });
    }
  });
  await page.setViewportSize({ width: 390, height: 844 });

  // 4. The turn's review: buttons off the screen's edges.
  await check("a turn's review: its buttons have the screen's side padding; nothing clipped", async () => {
    await page.locator('a.review-link').first().click();
    await page.getByRole('button', { name: 'Looks good' }).waitFor(SHORT);
    await offTheEdges('.sticky-actions .btn', 'turn review');
    await screenIsClean('turn review');
    await page.screenshot({ path: shots('third-04-turn-review.png') });
  });

  // 5. The file editor: Save and Cancel off the edges.
  await check("the file editor: Save and Cancel have the screen's side padding", async () => {
    await page.goto(`${base}/p/${projectId}/file?path=edited.txt`);
    await page.getByRole('button', { name: 'Edit', exact: true }).click();
    await page.locator('[data-testid="file-editor"]').waitFor(SHORT);
    await offTheEdges('.sticky-actions .btn', 'file editor');
    await screenIsClean('file editor');
    await page.screenshot({ path: shots('third-05-editor.png') });
  });

  // 6. The session's ⋯ sheet does what it offers: Archive, confirmed.
  await check('Archive from the sheet, confirmed, archives the session', async () => {
    await page.goto(base + sessionPath);
    await page.locator('[data-testid="message"]', { hasText: 'in a container.' }).waitFor(SHORT);
    await toBottom();
    await menuButton.click();
    await sheet.getByRole('button', { name: 'Archive…' }).click(SHORT);
    const confirm = sheet.getByRole('button', { name: 'Archive', exact: true });
    const box = await confirm.boundingBox();
    if (!box || box.y + box.height > 844) throw new Error(`the confirmation is out of view: ${JSON.stringify(box)}`);
    await confirm.click(SHORT);
    await sheet.waitFor({ state: 'hidden', ...SHORT });
    await page.getByText('This session is stopped.').waitFor(SHORT);
  });

  // 7. Rules: "Add rule" whole, every control at 16 px.
  await check('Rules: "Add rule" and the rest fit; controls at 16 px', async () => {
    await page.goto(`${base}/p/${projectId}/rules`);
    await page.getByRole('button', { name: 'Add rule' }).waitFor(SHORT);
    await screenIsClean('rules');
  });

  // 8. A commit without a git author: asked in place, then committed.
  await page.goto(`${base}/p/${projectId}/git`);
  await page.getByRole('button', { name: 'Stage all' }).click();
  await page.locator('.commit textarea').fill('Add the edited file');
  await page.locator('.commit button[type="submit"]').click();
  await check('a commit without a git author asks for one in place (no API path), then commits', async () => {
    const form = page.locator('[data-testid="git-identity"]');
    await form.waitFor(SHORT);
    await screenIsClean('git, asking for an author');
    await page.screenshot({ path: shots('third-06-identity.png') });
    await form.locator('input[name="gitName"]').fill('Phone Owner');
    await form.locator('input[name="gitEmail"]').fill('owner@example.invalid');
    await form.getByRole('button', { name: 'Save and commit' }).click(SHORT);
    await page.locator('.ok-note', { hasText: 'Committed' }).waitFor(SHORT);
  });

  // 9. A merge of a session's branch without a git author, in a second project: asked in place, then merged.
  await page.goto(base + '/');
  await addProject(page, args.repo2);
  await page.locator('textarea[name="prompt"]').fill('Write branch.txt');
  await openSessionOptions(page);
  await page.locator('input[name="mode"][value="trusted"]').check();
  await page.locator('input[name="place"][value="worktree"]').check();
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  await page.locator('.md', { hasText: 'Written on the branch.' }).waitFor();
  const bar = page.locator('[data-testid="worktree"]');
  await bar.locator('.worktree-summary', { hasText: '1 file changed' }).waitFor();
  await bar.locator('.worktree-summary').click();
  await bar.getByRole('button', { name: 'Merge into main' }).click();
  await check("merging a session's branch without a git author asks for one in place (no API path), then merges", async () => {
    const form = bar.locator('[data-testid="git-identity"]');
    await form.waitFor(SHORT);
    await screenIsClean('session, merge asking for an author');
    await form.locator('input[name="gitName"]').fill('Phone Owner');
    await form.locator('input[name="gitEmail"]').fill('owner@example.invalid');
    await form.getByRole('button', { name: 'Save and merge' }).click(SHORT);
    // A merge is git work on the server (merge, commit, the worktree's state read again): on a loaded machine it takes
    // longer than a screen's change, so it gets a server's wait.
    await bar.getByText(/main now has the session's work|Merged into main/).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: shots('third-07-merged.png') });
  });

  // 11. Every screen of the app, as it first shows, at 390x844 and 360x640 (#51): its title up and nothing still loading, then
  // the same three checks, every control 44x44 or more, and the inbox one tap away (in view at the top even scrolled down).
  const screens = [
    ['home', '/'], ['all sessions', '/sessions'], ['inbox', '/inbox'], ['files', `/p/${projectId}/files`], ['tasks', `/p/${projectId}/tasks`],
    ['rules', `/p/${projectId}/rules`], ['conversations', `/p/${projectId}/conversations`], ['git', `/p/${projectId}/git`],
    ['branches', `/p/${projectId}/git/branches`], ['history', `/p/${projectId}/git/log`], ['terminal', `/p/${projectId}/terminal`],
    ['settings', `/p/${projectId}/settings`], ['run', `/p/${projectId}/run`], ['new session', `/p/${projectId}/new`],
    ['devices', '/devices'], ['people', '/people'], ['machines', '/machines'], ['costs', '/costs'], ['session', sessionPath],
    ['turn review', `${sessionPath}/turn/1`], ['file', `/p/${projectId}/file?path=edited.txt`],
  ];
  for (const [width, height] of [[390, 844], [360, 640]]) {
    await check(`every screen at ${width}x${height}: nothing clipped, controls 44x44 and 16 px, no API path, the inbox one tap away`, async () => {
      await page.setViewportSize({ width, height });
      const problems = [];
      for (const [screen, path] of screens) {
        await page.goto(base + path);
        await page.locator('header h1, main h2').first().waitFor(SHORT);
        await page.waitForFunction(() => !/Loading…|Looking for/.test(document.body.innerText), null, SHORT);
        await screenIsClean(screen).catch((e) => problems.push(e.message));
        const { bad } = await smallTargets(page);
        problems.push(...bad.map((b) => `${screen}: under 44x44: ${b}`));
        if (screen === 'inbox') continue;
        await toBottom();
        const inbox = await page.locator('.inbox-link, .pending-badge').first().boundingBox().catch(() => null);
        if (!inbox || inbox.y < 0 || inbox.y + inbox.height > height) problems.push(`${screen}: no inbox link in view (${JSON.stringify(inbox)})`);
      }
      if (problems.length) throw new Error(problems.join('\n'));
    });
  }
  await page.setViewportSize({ width: 390, height: 844 });
  await check('the inbox link opens the inbox from a screen scrolled down (the file view)', async () => {
    await page.goto(`${base}/p/${projectId}/file?path=edited.txt`);
    await toBottom();
    await page.locator('.inbox-link, .pending-badge').first().click(SHORT);
    await page.waitForURL(/\/inbox$/, SHORT);
  });

  if (failures.length) throw new Error(`${failures.length} check(s) failed:\n  ${failures.join('\n  ')}`);
}, { command: { type: 'string' }, asked: { type: 'string' }, repo2: { type: 'string' }, long: { type: 'string' } });
