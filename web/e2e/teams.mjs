// Teams (issue #39), in Debian's Chromium at 390x844 against the real server and Claude Code: the owner invites an
// approver (Ana) and a viewer (Vic) from People and asks two people for shell calls in the policy editor; Ana and Vic
// pair browsers of their own with the codes shown. Claude's command then waits: Ana's allow makes it "1 of 2", Vic is
// offered no decision (and the server refuses one sent all the same), and it runs only once the owner allows too.
// Then the owner makes Ana an operator and revokes Vic, whose browser is sent back to pairing.
// Started by tests/PocketCoder.Tests/Browser/TeamsBrowserTests.cs.
//
//   node e2e/teams.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { controlAudit, invite, ok, personPhone, reportFailure, runPhoneScript, teamBrowser } from './phone.mjs';

await runPhoneScript('teams', 'Owner phone', async ({ page, base, projectId, repo, shots, chromium: executablePath }) => {
  const { measure, offenders } = controlAudit();
  // People: the owner invites an approver and a viewer; each gets a code (and link) for their first device.
  // The phone's share sheet, as Android's Chrome has it (headless Chromium has none): what the app hands it is recorded.
  await page.addInitScript(() => {
    Object.defineProperty(navigator, 'share', { configurable: true, value: async (data) => { window.sharedForTest = data; } });
  });
  await page.goto(`${base}/people`);
  // (#51) To pair a teammate: the link as a QR code whole on the screen, and the share sheet offered, at 390x844 (Ana) and
  // 360x640 (Vic); the link opened where their app is already open pairs without a reload, Ana's at 390x844, Vic's at 360x640.
  const pairingSheet = (width) => async ({ code, link }) => {
    const qr = await page.locator('[data-testid="pairing-qr"] svg').boundingBox();
    if (!qr || qr.width < 150 || qr.x < 0 || qr.x + qr.width > width) throw new Error(`the pairing QR at ${width} px wide: ${JSON.stringify(qr)}`);
    await page.getByRole('button', { name: 'Share…' }).click();
    const shared = await page.evaluate(() => window.sharedForTest);
    if (shared?.url !== link || !shared.text.includes(code)) throw new Error(`the share sheet was handed ${JSON.stringify(shared)}`);
    await page.screenshot({ path: shots(`teams-00-invite-${width}.png`) });
  };
  const anaCode = await invite(page, 'Ana', 'approver', pairingSheet(390));
  await page.setViewportSize({ width: 360, height: 640 });
  const vicCode = await invite(page, 'Vic', 'viewer', pairingSheet(360));
  await measure(page, 'People at 360x640');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: shots('teams-01-people.png'), fullPage: true });
  await measure(page, 'People');
  ok('People: the owner invites Ana (approver, 390x844) and Vic (viewer, 360x640), each with a one-time code, its link as a QR code and the share sheet');

  // The policy editor: shell calls need two people.
  await page.goto(`${base}/p/${projectId}/settings`);
  // A bad policy is refused whole, in the server's words.
  await page.locator('input[name="escalateAfterSeconds"]').fill('5');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByRole('form', { name: 'Team policy' }).getByText('10 to 604800 seconds').waitFor();
  await page.locator('input[name="escalateAfterSeconds"]').fill('');
  await page.locator('input[name="two-shell"]').check();
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  await page.reload();
  if (!(await page.locator('input[name="two-shell"]').isChecked())) throw new Error('the saved policy does not ask two people for shell calls');
  await page.locator('[data-testid="budget-meter"]').waitFor();
  await page.screenshot({ path: shots('teams-02-policy.png'), fullPage: true });
  await measure(page, 'Settings with the policy');
  ok('the policy editor shows why a bad policy is refused, saves "two people must allow commands", and reads it back');

  const browser = await teamBrowser(executablePath);
  const errors = [];
  let ana;
  let vic;
  try {
    ana = await personPhone(browser, base, anaCode, "Ana's phone", errors, [390, 844]);
    vic = await personPhone(browser, base, vicCode, "Vic's phone", errors);
    // What a viewer is not offered: starting a session, the terminal.
    if (await vic.getByRole('link', { name: 'Session', exact: true }).count()) throw new Error('the viewer is offered a new session');
    if (await vic.getByRole('link', { name: 'Terminal', exact: true }).count()) throw new Error('the viewer is offered the terminal');
    ok('Ana (390x844) and Vic (360x640) pair browsers of their own from their links opened in the open app, no reload; Vic is offered no new session and no terminal');

    await page.goto(`${base}/p/${projectId}/new`);
    await page.locator('textarea[name="prompt"]').fill('Write two.txt');
    await page.getByRole('button', { name: 'Start session' }).click();
    await page.waitForURL(/\/s\/[^/]+$/);
    const session = new URL(page.url()).pathname;
    const card = page.locator('.approval.pending');
    await card.locator('[data-testid="team-state"]').filter({ hasText: 'Needs two different people to allow it' }).waitFor();
    const approvalId = await card.getAttribute('data-approval');
    ok('the command waits on a card saying it needs two people');

    // Ana allows: one of two.
    await ana.goto(`${base}${session}`);
    const anaCard = ana.locator('.approval.pending');
    await anaCard.getByRole('button', { name: 'Allow once' }).click();
    await anaCard.filter({ hasText: '1 of 2 allowed — by Ana; needs one more person' }).waitFor();
    await anaCard.locator('[data-testid="waiting-for"]').filter({ hasText: 'Waiting for another person\'s allow' }).waitFor();
    if (await anaCard.getByRole('button', { name: 'Allow once' }).count()) throw new Error('Ana is offered a second allow of her own');
    if (await anaCard.getByRole('button', { name: /this session|Always allow/ }).count()) throw new Error('a two-person call offers a grant or a rule');
    await ana.screenshot({ path: shots('teams-03-ana-one-of-two.png'), fullPage: true });
    await measure(ana, 'a card allowed by one of two');
    if (existsSync(join(repo, 'two.txt'))) throw new Error('the command ran after one person\'s allow');
    ok('Ana allows: her card says 1 of 2, by Ana, and the command has not run');

    // Vic watches: no decision offered, and one sent all the same is refused.
    await vic.goto(`${base}${session}`);
    const vicCard = vic.locator('.approval.pending');
    await vicCard.filter({ hasText: '1 of 2 allowed — by Ana' }).waitFor();
    await vicCard.locator('[data-testid="waiting-for"]').filter({ hasText: 'Waiting for an approver or an owner' }).waitFor();
    if (await vicCard.getByRole('button').count()) throw new Error('the viewer is offered a decision');
    await vic.locator('[data-testid="steer-refusal"]').filter({ hasText: 'Only operators, approvers and owners start or steer sessions' }).waitFor();
    // The question waits, but not for a viewer: his badge says whom it waits for.
    await vic.locator('[data-status="waiting_approval"]', { hasText: 'Waiting for an approver or an owner' }).first().waitFor();
    const refused = await vic.evaluate(async (id) => {
      const r = await fetch(`/api/approvals/${id}/decision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'allow_once' }) });
      return { status: r.status, code: (await r.json()).code };
    }, approvalId);
    if (refused.status !== 403 || refused.code !== 'ROLE_FORBIDDEN') throw new Error(`the viewer's allow was not refused: ${JSON.stringify(refused)}`);
    await vic.screenshot({ path: shots('teams-04-vic-watches.png'), fullPage: true });
    await vic.goto(`${base}/p/${projectId}/settings`);
    await vic.locator('select[name="decider-shell"]:disabled').waitFor();
    if (await vic.getByRole('button', { name: 'Save policy' }).count()) throw new Error('the viewer is offered to save the policy');
    await measure(vic, 'Settings read by a viewer');
    // The backlog and git read, but steer nothing.
    await vic.goto(`${base}/p/${projectId}/tasks`);
    await vic.getByRole('heading', { name: 'Backlog' }).waitFor();
    if (await vic.getByRole('link', { name: 'Add a task or schedule' }).count()) throw new Error('the viewer is offered to add a task');
    await vic.goto(`${base}/p/${projectId}/git/branches`);
    await vic.getByRole('heading', { name: 'Branches' }).waitFor();
    if (await vic.getByRole('button', { name: 'Create and switch' }).count()) throw new Error('the viewer is offered to create a branch');
    if (existsSync(join(repo, 'two.txt'))) throw new Error('the command ran after a viewer\'s allow');
    ok('Vic sees 1 of 2 with no button to decide, cannot steer, and his allow sent anyway is refused (ROLE_FORBIDDEN); the policy is his to read, not to save');

    // The owner is the second person: it runs.
    await card.filter({ hasText: '1 of 2 allowed — by Ana' }).waitFor();
    await card.getByRole('button', { name: 'Allow once' }).click();
    await page.locator('[data-testid="message"]').filter({ hasText: 'Ran after two people allowed it.' }).first().waitFor({ timeout: 60_000 });
    if (!existsSync(join(repo, 'two.txt'))) throw new Error('the command did not run after two people allowed it');
    await ana.locator('[data-testid="message"]').filter({ hasText: 'Ran after two people allowed it.' }).first().waitFor();
    await page.screenshot({ path: shots('teams-05-ran.png'), fullPage: true });
    ok('the owner allows as the second person: the command runs, and every phone shows the reply');

    // People again: a role changed, and a person revoked (their browser is signed out on its next request).
    await page.goto(`${base}/people`);
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/api/people/') && r.ok()),
      page.locator('[data-person="Ana"] select').selectOption('operator'),
    ]);
    await page.reload();
    if ((await page.locator('[data-person="Ana"] select').inputValue()) !== 'operator') throw new Error('Ana\'s new role did not stay');
    const vicRow = page.locator('[data-person="Vic"]');
    await vicRow.getByRole('button', { name: 'Revoke…' }).click();
    await vicRow.getByRole('button', { name: 'Revoke Vic and their device' }).click();
    await page.locator('[data-person="Vic"].revoked').waitFor();
    await vic.reload();
    await vic.getByRole('heading', { name: 'Pair this phone' }).waitFor();
    await vic.locator('[data-testid="signed-out-reason"]').filter({ hasText: 'Ask an owner of this PocketCoder to invite you again' }).waitFor();
    if (await vic.getByText('pocketcoder pair').count()) throw new Error('a revoked teammate is told to run pocketcoder pair');
    ok('People: Ana becomes an operator, and Vic, revoked, is sent back to pairing, told to ask an owner to invite him again');
    if (errors.length) throw new Error(`script errors: ${errors.join('; ')}`);
    if (offenders.length) throw new Error(`controls too small, clipped or under 16 px:\n  ${offenders.join('\n  ')}`);
    ok('every control on People, the policy and the team cards is 44x44 or more, unclipped, 16 px or more');
  } catch (e) {
    for (const [who, p] of [['ana', ana], ['vic', vic]]) if (p) await reportFailure(p, `(${who}'s phone at the failure)`, shots(`teams-failure-${who}.png`));
    throw e;
  } finally {
    await browser.close();
  }
});
