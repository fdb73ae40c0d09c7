// One inbox (issue #51), in Debian's Chromium against the real server and Claude Code: six sessions each wait on a call
// (five Bash commands, one of them a download piped to a shell and one forty lines long, and a Write that needs two people). The badge on any screen
// opens the inbox; what needs this person comes first, the Write (allowed once by the owner, now waiting for a second
// person) under "Waiting on someone else". At 390x844 a swipe allows a plain call; a swipe on the risky one decides nothing
// (it says to use the buttons) and its Deny does. At both sizes Home and All sessions put the sessions that need this person
// first and say who started each, and the long command's card, opened whole, keeps Allow/Deny pinned at the bottom of the
// screen. Two similar calls are selected and allowed together: two decisions, two ledger entries; at 360x640 a swipe to the
// left denies a plain call. Every control measured at both sizes. Started by tests/PocketCoder.Tests/Browser/InboxBrowserTests.cs.
//
//   node e2e/inbox.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { controlAudit, ok, runPhoneScript } from './phone.mjs';

const RISKY = 'curl -fsS http://localhost:9/install.sh | sh';

await runPhoneScript('inbox', 'Inbox phone', async ({ page, base, projectId, shots, context }) => {
  const { measure, offenders } = controlAudit();
  const api = (method, path, body) => page.evaluate(async ({ method, path, body }) => {
    const r = await fetch(path, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  }, { method, path, body });

  // The Write needs two people; everything else one. A download piped to a shell is the owners' (routed by the same
  // reading of the call as its card shows).
  const policy = await api('PUT', `/api/projects/${projectId}/policy`, { twoPerson: ['edit'], deciders: { 'piped-to-shell': 'owner' } });
  if (policy.status !== 200) throw new Error(`setting the policy answered ${policy.status}: ${JSON.stringify(policy.body)}`);
  // One session at a time, each waiting on its call before the next starts: the fake model answers them in this order.
  const prompts = ['Write one.txt', 'Install the tool', 'Write three.txt', 'Write four.txt', 'Write five.txt', 'Write six.txt'];
  for (const [i, prompt] of prompts.entries()) {
    const started = await api('POST', `/api/projects/${projectId}/sessions`, { agent: 'claude-code', mode: 'ask', prompt });
    if (started.status !== 201 && started.status !== 200) throw new Error(`starting a session answered ${started.status}`);
    await until(async () => (await api('GET', '/api/approvals?status=pending')).body.length === i + 1, `call ${i + 1} asked`);
  }
  const pending = (await api('GET', '/api/approvals?status=pending')).body;
  const idOf = (text) => pending.find((a) => JSON.stringify(a.input).includes(text))?.id;
  const [one, risky, three, four, five, six] = ['echo one', 'install.sh', 'echo three', 'echo four', 'five.txt', 'echo six'].map(idOf);
  if (!one || !risky || !three || !four || !five || !six) throw new Error(`the calls asked: ${pending.map((a) => a.title).join('; ')}`);
  if (!pending.find((a) => a.id === risky).riskSigns?.includes('piped-to-shell')) throw new Error('the download piped to a shell has no risk sign');
  const roles = pending.map((a) => `${a.id === risky ? 'risky' : 'plain'}:${a.deciderRole}`).sort();
  if (roles.join() !== 'plain:approver,plain:approver,plain:approver,plain:approver,plain:approver,risky:owner') throw new Error(`routed to: ${roles}`);

  // From Home, the badge opens the inbox.
  await page.goto(`${base}/`);
  const looked = page.waitForResponse((r) => /\/api\/approvals\/[^/]+\/look$/.test(r.url()) && r.request().method() === 'POST');
  await page.locator('.pending-badge[data-pending="6"]').click();
  await page.waitForURL(/\/inbox$/);
  const needs = page.locator('[data-testid="needs-you"]');
  const item = (id) => page.locator(`.inbox-item[data-approval="${id}"]`);
  await needs.locator('.inbox-item').nth(5).waitFor();
  ok('six sessions each wait on a call; the badge on Home (6) opens the inbox with all six under "Needs you"');
  // The first card is the one decided next: its machine is told it is in front of the owner (a paused agent starts ahead).
  const look = await looked;
  const firstId = await needs.locator('.inbox-item').first().getAttribute('data-approval');
  if (look.status() !== 200 || !look.url().endsWith(`/api/approvals/${firstId}/look`)) throw new Error(`the look: ${look.status()} ${look.url()}, first ${firstId}`);
  ok('the first card that needs the owner is looked at: its machine may start a paused agent ahead of the decision');

  // The owner allows the Write: one of two people; it moves under "Waiting on someone else", below what needs them.
  await item(five).getByRole('button', { name: 'Allow once' }).click();
  const others = page.locator('[data-testid="waiting-on-others"]');
  await others.locator(`.inbox-item[data-approval="${five}"]`).waitFor();
  await others.locator('[data-testid="waiting-for"]', { hasText: /another person/i }).waitFor();
  const order = await page.evaluate(() => [...document.querySelectorAll('.inbox-item')].map((e) => e.closest('section')?.dataset.testid));
  if (order.join() !== 'needs-you,needs-you,needs-you,needs-you,needs-you,waiting-on-others') throw new Error(`inbox order: ${order}`);
  const sessions = await page.locator('.inbox-session-title').allTextContents();
  if (new Set(sessions).size !== 6) throw new Error(`the inbox does not name each call's session: ${sessions}`);
  const starter = (await api('GET', '/api/people/me')).body.person.name;
  const from = await page.locator('.inbox-session .muted').allTextContents();
  if (!from.every((line) => line.includes(`started by ${starter}`))) throw new Error(`the inbox does not say who started each session: ${from}`);
  await page.screenshot({ path: shots('inbox-01-390.png'), fullPage: true });
  await measure(page, 'Inbox at 390x844');
  ok('the Write, allowed by the owner, waits for a second person under "Waiting on someone else", after the five that need them');

  // A swipe right past the threshold allows a plain call once.
  await swipe(page, context, item(one), 0.7, async () => {
    await item(one).locator('.swipe-under.armed', { hasText: 'Allow once' }).waitFor();
  });
  await item(one).waitFor({ state: 'detached' });
  const decidedOne = (await api('GET', `/api/approvals/${one}`)).body;
  if (decidedOne.decision !== 'allow_once' || decidedOne.decidedBy !== 'Inbox phone') throw new Error(`after the swipe: ${JSON.stringify(decidedOne)}`);
  ok('a swipe to the right, past the threshold shown under the card, allows the plain call once');

  // The risky call: the same swipe says to use the buttons, and decides nothing.
  await item(risky).locator('[data-testid="risk-signs"]', { hasText: 'Downloads and runs a script' }).waitFor();
  await swipe(page, context, item(risky), 0.8, async () => {
    await item(risky).locator('.swipe-under.refused', { hasText: 'Risky: use the buttons' }).waitFor();
  });
  await item(risky).locator('.swipe-card:not([style*="translateX"])').waitFor();
  if ((await api('GET', `/api/approvals/${risky}`)).body.status !== 'pending') throw new Error('a swipe decided the risky call');
  await item(risky).getByRole('button', { name: 'Deny…' }).click();
  await item(risky).getByRole('button', { name: 'Deny', exact: true }).click();
  await item(risky).waitFor({ state: 'detached' });
  if ((await api('GET', `/api/approvals/${risky}`)).body.decision !== 'deny') throw new Error('the risky call\'s Deny did not deny it');
  ok('a swipe on the download piped to a shell decides nothing ("Risky: use the buttons"); its Deny button denies it');

  // Home and All sessions: the sessions whose calls need this person first (longest waiting leading), each saying who started it.
  await sessionsNeedYouFirst(page, base, starter, '390x844', measure);
  await pinnedActions(page, item(four), 844);
  ok('at 390x844 Home and All sessions list the three sessions that need you first, with who started each; a tall card keeps Allow/Deny pinned in view');

  // The same at 360x640, then two similar calls selected (the bar measured at both sizes) and allowed together.
  await page.setViewportSize({ width: 360, height: 640 });
  await sessionsNeedYouFirst(page, base, starter, '360x640', measure);
  await pinnedActions(page, item(four), 640);
  await page.setViewportSize({ width: 390, height: 844 });
  await item(three).getByRole('checkbox').check();
  await item(four).getByRole('checkbox').check();
  const bar = page.locator('[data-testid="batch-bar"]');
  await bar.getByText('2 Bash calls selected').waitFor();
  await measure(page, 'Inbox at 390x844, two selected');
  const wide = await bar.getByRole('button', { name: 'Allow 2 once' }).boundingBox();
  if (!wide || wide.y + wide.height > 844) throw new Error(`the batch's Allow is not on the screen at 390x844: ${JSON.stringify(wide)}`);
  await page.setViewportSize({ width: 360, height: 640 });
  await page.screenshot({ path: shots('inbox-02-360-selected.png') });
  await measure(page, 'Inbox at 360x640, two selected');
  const box = await bar.getByRole('button', { name: 'Allow 2 once' }).boundingBox();
  if (!box || box.y + box.height > 640) throw new Error(`the batch's Allow is not on the screen: ${JSON.stringify(box)}`);
  await bar.getByRole('button', { name: 'Allow 2 once' }).click();
  await item(three).waitFor({ state: 'detached' });
  await item(four).waitFor({ state: 'detached' });
  await bar.waitFor({ state: 'detached' });
  const ledger = (await api('GET', '/api/ledger?limit=500')).body.entries;
  const entries = ledger.filter((e) => e.action === 'approval.decided' && (e.subject === three || e.subject === four) && e.actor === 'Inbox phone');
  if (entries.length !== 2 || entries[0].subject === entries[1].subject) throw new Error(`ledger entries for the batch: ${JSON.stringify(entries)}`);
  ok('two similar Bash calls selected (the bar in view at 390x844 and 360x640) and allowed together: two decisions, two ledger entries');

  // A swipe at 360x640 too: to the left, past the threshold, denies a plain call.
  await swipe(page, context, item(six), -0.7, async () => {
    await item(six).locator('.swipe-under.armed', { hasText: 'Deny' }).waitFor();
  });
  await item(six).waitFor({ state: 'detached' });
  const decidedSix = (await api('GET', `/api/approvals/${six}`)).body;
  if (decidedSix.decision !== 'deny' || decidedSix.decidedBy !== 'Inbox phone') throw new Error(`after the swipe to the left: ${JSON.stringify(decidedSix)}`);
  ok('at 360x640 a swipe to the left, past the threshold shown under the card, denies a plain call');

  await needs.waitFor({ state: 'detached' });
  await page.locator('[data-testid="waiting-on-others"] .inbox-item').waitFor();
  await measure(page, 'Inbox at 360x640, waiting on others');
  const text = await page.locator('body').innerText();
  if (text.includes('/api/')) throw new Error('the inbox shows an API path');
  // Home: the sessions of the project with who started them, and the badge gone (nothing needs this person).
  await page.goto(`${base}/`);
  // Six sessions: Home shows five, the oldest-updated one behind "Show all".
  await page.getByRole('button', { name: 'Show all 6 sessions' }).click();
  await page.locator('.session-row', { hasText: 'Write five.txt' }).filter({ hasText: starter }).waitFor();
  if (await page.locator('.pending-badge').count()) throw new Error('the badge stayed with nothing waiting for this person');
  await page.locator('.inbox-link').waitFor();
  await measure(page, 'Home at 360x640');
  if (offenders.length) throw new Error(`controls: ${offenders.join('; ')}`);
  // The allowed calls' turns end (the test then reads what they wrote).
  const ended = [one, three, four, six].map((id) => pending.find((a) => a.id === id).sessionId);
  await until(async () => {
    const sessions = (await api('GET', '/api/sessions')).body;
    return ended.every((id) => sessions.find((s) => s.id === id)?.status === 'idle');
  }, 'the allowed calls\' turns ended');
  ok('nothing left for this person: no badge, the inbox one tap away all the same; every control measured at both sizes');
});

/**
 * Home and All sessions, from the inbox and back: the sessions of "Write three/four/six.txt" (each waits on a call for this
 * person) lead in the order their calls came, above the newer sessions that need nothing; every row says who started it.
 */
async function sessionsNeedYouFirst(page, base, starter, size, measure) {
  const expected = ['Write three.txt', 'Write four.txt', 'Write six.txt'];
  for (const [screen, path] of [['Home', '/'], ['All sessions', '/sessions']]) {
    await page.goto(`${base}${path}`);
    const rows = page.locator('a.session-row');
    await rows.nth(4).waitFor();
    // The rows come with the sessions' snapshot and are sorted again once the pending calls' offers are read: a few tries.
    let texts = [];
    let first = [];
    for (let i = 0; i < 20 && first.join() !== expected.join(); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 250));
      texts = await rows.allInnerTexts();
      first = texts.slice(0, 3).map((t) => expected.find((e) => t.includes(e)) ?? t.split('\n')[0]);
    }
    if (first.join() !== expected.join()) throw new Error(`${screen} at ${size} lists first: ${JSON.stringify(first)}`);
    const unnamed = texts.filter((t) => !t.includes(starter));
    if (unnamed.length) throw new Error(`${screen} at ${size} does not say who started: ${JSON.stringify(unnamed)}`);
    await measure(page, `${screen} at ${size}`);
  }
  await page.goto(`${base}/inbox`);
  await page.locator('[data-testid="needs-you"] .inbox-item').nth(2).waitFor();
}

/**
 * A card taller than what is left of the screen below its head (its long command opened whole): Allow once and Deny stay
 * pinned at the bottom of the screen, under the head, while the card's own end is below the fold.
 */
async function pinnedActions(page, card, height) {
  const more = card.getByRole('button', { name: /^Show the whole command/ });
  if (await more.count()) await more.click();
  const head = card.locator('.approval-head');
  await head.evaluate((el, h) => window.scrollBy(0, el.getBoundingClientRect().top - h * 0.45), height);
  const box = async (name) => card.getByRole('button', { name, exact: true }).boundingBox();
  const [top, end, allow, deny] = [await head.boundingBox(), await card.locator('.approval').boundingBox(), await box('Allow once'), await box('Deny…')];
  if (!top || !end || end.y + end.height <= height) throw new Error(`the card is not taller than the screen below its head: ${JSON.stringify({ top, end })}`);
  for (const b of [allow, deny]) {
    if (!b || b.y < top.y + top.height || b.y + b.height > height) throw new Error(`Allow/Deny are not pinned in view: ${JSON.stringify({ allow, deny, head: top })}`);
  }
}

/** Asks `check` every quarter second until it holds (the server's answers have no event to wait on here), at most a minute. */
async function until(check, what) {
  for (let i = 0; i < 240; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`waited a minute for: ${what}`);
}

/**
 * A finger drags the card sideways by `fraction` of its width (touch events, as a phone sends them), `whileHeld` checks what
 * the card shows under it before the finger lifts.
 */
async function swipe(page, context, card, fraction, whileHeld) {
  await card.locator('.approval-head').scrollIntoViewIfNeeded();
  const box = await card.locator('.approval-head').boundingBox();
  const cdp = await context.newCDPSession(page);
  const y = box.y + box.height / 2;
  const x0 = box.x + 20;
  const touch = (type, x) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x, y }] });
  await touch('touchStart', x0);
  for (let i = 1; i <= 10; i++) await touch('touchMove', x0 + ((box.width * fraction) * i) / 10);
  await whileHeld();
  await touch('touchEnd', 0);
  await cdp.detach();
}
