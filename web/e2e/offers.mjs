// One authority on the phone (issue #49), in Debian's Chromium at 390x844 against the real server and Claude Code: the
// app offers each person exactly what the server will accept, from the offers the server sends, and says who can do the
// rest. The owner invites an operator (Olu) and a viewer (Vic) from People; each pairs a browser of their own. The owner
// starts a trusted session and an ask session whose shell call waits. Neither Olu nor Vic is offered Allow or Deny on that
// call, nor told it waits for them (no pending badge, no "Waiting for you"): the card says who can decide. Olu is shown the
// server's reason instead of a composer on the trusted session (and the server refuses a message sent anyway), may switch it
// only to the modes offered, and sends to the ask session; Vic gets no composer at all. The owner allows the call; Olu's
// queued message then starts on his word and is answered.
// Started by tests/PocketCoder.Tests/Browser/TeamsBrowserTests.cs.
//
//   node e2e/offers.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { controlAudit, invite, ok, openSessionOptions, personPhone, reportFailure, runPhoneScript, teamBrowser } from './phone.mjs';

const WAITING = 'Waiting for an approver or an owner';

/** Starts a session from New session in `mode` and returns its path (/s/ID). */
async function startSession(page, base, projectId, prompt, mode) {
  await page.goto(`${base}/p/${projectId}/new`);
  await page.locator('textarea[name="prompt"]').fill(prompt);
  await openSessionOptions(page);
  await page.locator(`input[name="mode"][value="${mode}"]`).check();
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  return new URL(page.url()).pathname;
}

/** Home as someone who may not decide the waiting call sees it: the session says who it waits for, and nothing says "you". */
async function homeWaitsForOthers(page, base, who) {
  await page.goto(`${base}/`);
  const badge = page.locator('[data-status="waiting_approval"]').first();
  await badge.filter({ hasText: WAITING }).waitFor();
  if (await page.locator('.pending-badge').count()) throw new Error(`${who} is shown a pending badge for a call they may not decide`);
  if (await page.getByText(/waiting for you/i).count()) throw new Error(`${who} is told a call waits for them`);
}

/** The waiting call's card as someone who may not decide it sees it: no decision offered, and who can decide. */
async function cardForOthers(page, who) {
  const card = page.locator('.approval.pending');
  await card.locator('[data-testid="waiting-for"]').filter({ hasText: WAITING }).waitFor();
  const offered = await card.getByRole('button').allTextContents();
  if (offered.length) throw new Error(`${who} is offered ${JSON.stringify(offered)} on a call they may not decide`);
  if (await page.locator('.pending-badge').count()) throw new Error(`${who} is shown a pending badge on the session`);
  if (await page.getByText(/waiting for you/i).count()) throw new Error(`${who} is told the call waits for them`);
}

const enabledModes = (page) => page.locator('select[aria-label="Mode"] option:not([disabled])').evaluateAll((options) => options.map((o) => o.value));

await runPhoneScript('offers', 'Owner phone', async ({ page, base, projectId, shots, chromium: executablePath }) => {
  const { measure, offenders } = controlAudit();
  await page.goto(`${base}/people`);
  const oluCode = await invite(page, 'Olu', 'operator');
  const vicCode = await invite(page, 'Vic', 'viewer');
  ok('the owner invites Olu (operator) and Vic (viewer) from People');

  const trusted = await startSession(page, base, projectId, 'Say hello', 'trusted');
  await page.locator('[data-testid="message"]').filter({ hasText: 'Trusted and done.' }).first().waitFor({ timeout: 60_000 });
  const asked = await startSession(page, base, projectId, 'Write ask.txt', 'ask');
  const ownerCard = page.locator('.approval.pending');
  await ownerCard.getByRole('button', { name: 'Allow once' }).waitFor({ timeout: 60_000 });
  await page.locator('.pending-badge[data-pending="1"]').waitFor();
  ok('the owner starts a trusted session and an ask session whose command waits for them, with Allow once and a pending badge');

  const browser = await teamBrowser(executablePath);
  const errors = [];
  let olu;
  let vic;
  try {
    olu = await personPhone(browser, base, oluCode, "Olu's phone", errors);
    vic = await personPhone(browser, base, vicCode, "Vic's phone", errors);

    // Olu, an operator: the call is an approver's to decide.
    await homeWaitsForOthers(olu, base, 'Olu');
    await olu.screenshot({ path: shots('offers-01-olu-home.png'), fullPage: true });
    await measure(olu, "Olu's Home");
    await olu.goto(`${base}/p/${projectId}/new`);
    await openSessionOptions(olu);
    const modes = await olu.locator('input[name="mode"]').evaluateAll((inputs) => inputs.filter((i) => !i.disabled).map((i) => i.value));
    if (JSON.stringify(modes) !== JSON.stringify(['ask', 'plan'])) throw new Error(`New session offers Olu the modes ${JSON.stringify(modes)}`);
    await measure(olu, "Olu's New session");
    ok('Olu\'s Home says the session waits for an approver or an owner, with no pending badge; New session offers him Ask and Plan only');

    await olu.goto(`${base}${asked}`);
    await cardForOthers(olu, 'Olu');
    await olu.locator('textarea[aria-label="Message"]').waitFor();
    await olu.screenshot({ path: shots('offers-02-olu-ask-session.png'), fullPage: true });
    await measure(olu, "Olu's ask session");
    ok('Olu\'s card offers no Allow or Deny and says who can decide; the ask session\'s composer is his');

    await olu.goto(`${base}${trusted}`);
    const refusal = olu.locator('[data-testid="steer-refusal"]');
    await refusal.filter({ hasText: 'only approvers and owners steer it' }).waitFor();
    if (await olu.locator('textarea[aria-label="Message"]').count()) throw new Error('Olu is offered a composer on the trusted session');
    const switchable = await enabledModes(olu);
    if (JSON.stringify(switchable) !== JSON.stringify(['ask', 'plan'])) throw new Error(`the trusted session offers Olu the modes ${JSON.stringify(switchable)}`);
    const sent = await olu.evaluate(async (path) => {
      const r = await fetch(`/api/sessions/${path.split('/')[2]}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hi' }) });
      return { status: r.status, code: (await r.json()).code };
    }, trusted);
    if (sent.status !== 403 || sent.code !== 'STEER_NOT_ALLOWED') throw new Error(`a message Olu sends anyway is not refused: ${JSON.stringify(sent)}`);
    await olu.screenshot({ path: shots('offers-03-olu-trusted-session.png'), fullPage: true });
    await measure(olu, "Olu's trusted session");
    ok('on the trusted session Olu sees the server\'s reason instead of a composer, may switch it to Ask or Plan only, and a message sent anyway is refused (STEER_NOT_ALLOWED)');

    await olu.goto(`${base}${asked}`);
    await olu.locator('textarea[aria-label="Message"]').fill('Add a line from Olu');
    await olu.getByRole('button', { name: 'Send' }).click();
    await olu.locator('[data-testid="queued-message"]').filter({ hasText: 'Add a line from Olu' }).waitFor();
    ok('Olu sends to the ask session: his message waits in its queue');

    // Vic, a viewer: reads everything, is offered nothing.
    await homeWaitsForOthers(vic, base, 'Vic');
    await vic.goto(`${base}${asked}`);
    await cardForOthers(vic, 'Vic');
    await vic.locator('[data-testid="steer-refusal"]').filter({ hasText: 'Only operators, approvers and owners start or steer sessions' }).waitFor();
    if (await vic.locator('textarea[aria-label="Message"], select[aria-label="Mode"]').count()) throw new Error('Vic is offered a composer or a mode on the ask session');
    await vic.screenshot({ path: shots('offers-04-vic-ask-session.png'), fullPage: true });
    await measure(vic, "Vic's ask session");
    await vic.goto(`${base}${trusted}`);
    await vic.locator('[data-testid="steer-refusal"]').waitFor();
    if (await vic.locator('textarea[aria-label="Message"], select[aria-label="Mode"]').count()) throw new Error('Vic is offered a composer or a mode on the trusted session');
    ok('Vic is offered no decision and no composer on either session, and nothing says the call waits for him');

    // The inbox by each one's rights (#51), at 390x844 and 360x640: the owner's call needs her; Olu and Vic see it under
    // "Waiting on someone else", offered nothing, and nothing there needs them.
    for (const [width, height] of [[390, 844], [360, 640]]) {
      for (const [who, p] of [['the owner', page], ['Olu', olu], ['Vic', vic]]) {
        await p.setViewportSize({ width, height });
        await p.goto(`${base}/inbox`);
        const mine = who === 'the owner';
        const section = p.locator(`[data-testid="${mine ? 'needs-you' : 'waiting-on-others'}"] .inbox-item`);
        await section.first().waitFor();
        if (await p.locator(`[data-testid="${mine ? 'waiting-on-others' : 'needs-you'}"]`).count()) throw new Error(`${who}'s inbox at ${width}x${height} lists the call under the other heading`);
        const offered = (await section.first().getByRole('button').allTextContents()).map((t) => t.trim());
        if (mine ? !offered.includes('Allow once') : offered.length) throw new Error(`${who}'s inbox at ${width}x${height} offers ${JSON.stringify(offered)}`);
        if (!mine) await section.first().locator('[data-testid="waiting-for"]').filter({ hasText: WAITING }).waitFor();
        const subtitle = await p.locator('.appbar-sub').innerText();
        if (mine ? subtitle !== '1 needs you' : subtitle !== 'Nothing needs you') throw new Error(`${who}'s inbox at ${width}x${height} says "${subtitle}"`);
        await measure(p, `${who}'s inbox at ${width}x${height}`);
      }
    }
    for (const p of [page, olu, vic]) await p.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}${asked}`);
    await olu.goto(`${base}${asked}`);
    ok('the inbox by rights at 390x844 and 360x640: the owner\'s call needs her, with Allow once; Olu (operator) and Vic (viewer) see it waiting on someone else, offered nothing');

    // The owner decides: the call runs, then Olu's message starts on his word.
    await ownerCard.getByRole('button', { name: 'Allow once' }).click();
    await page.locator('[data-testid="message"]').filter({ hasText: 'Ran it.' }).first().waitFor({ timeout: 60_000 });
    await olu.locator('[data-testid="message"]').filter({ hasText: 'Noted Olu\'s line.' }).first().waitFor({ timeout: 60_000 });
    ok('the owner allows the call; Olu\'s queued message then starts and is answered on his phone');

    if (errors.length) throw new Error(`script errors: ${errors.join('; ')}`);
    if (offenders.length) throw new Error(`controls too small, clipped or under 16 px:\n  ${offenders.join('\n  ')}`);
    ok('every control on Olu\'s and Vic\'s screens is 44x44 or more, unclipped, 16 px or more');
  } catch (e) {
    for (const [who, p] of [['olu', olu], ['vic', vic]]) if (p) await reportFailure(p, `(${who}'s phone at the failure)`, shots(`offers-failure-${who}.png`));
    throw e;
  } finally {
    await browser.close();
  }
});
