// Notifications end to end in Debian's Chromium: this script is the browser's push service. It subscribes the paired
// phone with keys made here (headless Chromium cannot reach a real push service), receives the machine's push, decrypts
// it as a browser does (RFC 8291, written again here in JavaScript, so the server's C# is checked by a second
// implementation), and hands the plaintext to the app's service worker with DevTools' deliverPushMessage. The worker
// shows it; its "Allow once" decides the approval with the phone's cookie; a late "Deny" gets the server's 409. Then a
// command too long to show whole: its notification offers only Deny, and a payload forged to offer Allow anyway allows
// nothing (the server refuses it, the worker opens the app).
// Started by tests/PocketCoder.Tests/Notifications/NotificationBrowserTests.cs.
//
//   node e2e/notify.mjs --url URL --code PAIRCODE --repo DIR --command TEXT --cut-command TEXT [--shots DIR]; env POCKETCODER_LAPTOP_TOKEN
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchPhone, ok, pair, reportFailure, scriptArgs } from './phone.mjs';
import { browserSubscriptionKeys, startPushService } from './pushService.mjs';

const usage = 'node e2e/notify.mjs --url URL --code CODE --repo DIR --command TEXT --cut-command TEXT; env POCKETCODER_LAPTOP_TOKEN';
const args = scriptArgs(
  { url: { type: 'string' }, code: { type: 'string' }, repo: { type: 'string' }, command: { type: 'string' }, 'cut-command': { type: 'string' } },
  ['url', 'code', 'repo', 'command', 'cut-command'],
  usage,
);
const laptopToken = process.env.POCKETCODER_LAPTOP_TOKEN;
if (!laptopToken) {
  console.error(`usage: ${usage}`);
  process.exit(2);
}
const base = args.url.replace(/\/$/, '');
const origin = new URL(base).origin;

// The browser's side of a subscription, and the push service it names.
const { publicKey: browserPublicKey, authSecret, decrypt } = browserSubscriptionKeys();
const pushService = await startPushService();
const { endpoint, nextPush } = pushService;

async function laptop(method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${laptopToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

const profile = mkdtempSync(join(tmpdir(), 'pc-chromium-'));
const context = await launchPhone({ executablePath: args.chromium, profile });
await context.grantPermissions(['notifications'], { origin });
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(60_000);
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
let exitCode = 0;
try {
  await pair(page, base, args.code, 'Notified phone');
  await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state);
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));

  // The app's own calls, with the phone's cookie: subscribe (with the keys made above), add the project, start a session.
  const call = (method, path, body) => page.evaluate(async ([m, p, b]) => {
    const r = await fetch(p, { method: m, headers: { 'content-type': 'application/json' }, body: b === null ? undefined : JSON.stringify(b) });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [method, path, body ?? null]);
  const b64url = (bytes) => Buffer.from(bytes).toString('base64url');
  const subscribed = await call('PUT', '/api/notifications/web-push', { endpoint, keys: { p256dh: b64url(browserPublicKey), auth: b64url(authSecret) } });
  if (subscribed.status !== 200) throw new Error(`subscribe: ${JSON.stringify(subscribed)}`);
  // The phone is about to look elsewhere: hidden, so the machine pushes instead of relying on the open app.
  await call('POST', '/api/notifications/presence', { visible: false });
  const project = await call('POST', '/api/projects', { path: args.repo, name: 'demo' });
  const session = await call('POST', `/api/projects/${project.body.id}/sessions`, { agent: 'claude-code', prompt: 'run it' });
  if (session.status !== 201 && session.status !== 200) throw new Error(`start session: ${JSON.stringify(session)}`);

  const push = await nextPush();
  if (push.headers['content-encoding'] !== 'aes128gcm' || !String(push.headers.authorization).startsWith('vapid t=')) {
    throw new Error(`not an encrypted, VAPID-signed push: ${JSON.stringify(push.headers)}`);
  }
  if (push.body.includes(Buffer.from(args.command))) throw new Error('the push service could read the command');
  const plaintext = decrypt(push.body);
  const message = JSON.parse(plaintext);
  if (message.event !== 'approval.requested' || !message.body.includes(args.command) || !message.actions || typeof message.allowToken !== 'string') {
    throw new Error(`unexpected push: ${plaintext}`);
  }
  ok('the machine pushed the question, encrypted to this browser (decrypted here in JavaScript) and VAPID-signed');

  // Every screen shows that something waits: a badge on the bar, the count in the title.
  await page.goto(`${base}/devices`);
  await page.locator('.pending-badge[data-pending="1"]').waitFor();
  await page.waitForFunction(() => document.title === '(1) PocketCoder');
  const badge = await page.locator('.pending-badge').boundingBox();
  if (!badge || badge.height < 44 || badge.width < 44) throw new Error(`pending badge too small to tap: ${JSON.stringify(badge)}`);
  await page.screenshot({ path: join(args.shots, 'notify-01-badge.png') });
  ok('a pending badge (at least 44 px) and "(1) PocketCoder" in the title, on the Devices screen too');

  // Offline: Allow once and Deny can be kept in the phone's outbox (#51); the wider allows wait for the machine.
  await page.locator('.pending-badge').click();
  const card = page.locator('.approval.pending');
  await card.waitFor();
  await context.setOffline(true);
  await page.locator('.offline').waitFor();
  const wider = card.getByRole('button', { name: 'All Bash this session' });
  if (!(await wider.isDisabled())) throw new Error('All Bash this session stayed enabled while offline');
  if (await card.getByRole('button', { name: 'Allow once' }).isDisabled()) throw new Error('Allow once, which the outbox keeps, was disabled offline');
  await context.setOffline(false);
  await page.locator('.offline').waitFor({ state: 'detached' });
  if (await wider.isDisabled()) throw new Error('All Bash this session stayed disabled after the network came back');
  ok('the badge opens the card; offline, the wider allows are disabled (Allow once is kept by the outbox) and the banner says so; back online, enabled');

  // The push as the browser hands it to the service worker.
  const cdp = await context.newCDPSession(page);
  const registration = new Promise((resolve) => cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
    const found = e.registrations.find((r) => r.scopeURL.startsWith(origin) && !r.isDeleted);
    if (found) resolve(found.registrationId);
  }));
  await cdp.send('ServiceWorker.enable');
  const registrationId = await registration;
  // DevTools' delivery stands in for the push service's connection to the browser; one that does not arrive (the
  // worker being restarted on a loaded machine, say) is made again, at most three times, as a push service retries.
  const deliver = async (shownYet, data = plaintext, tag = message.tag) => {
    for (let attempt = 1; attempt <= 3; attempt++) {
      await cdp.send('ServiceWorker.deliverPushMessage', { origin: origin + '/', registrationId, data });
      const sw = context.serviceWorkers().at(-1) ?? worker;
      const found = await sw.evaluate(shownYet, tag).catch(() => null);
      if (found) return { found, sw };
    }
    return { found: null, sw: worker };
  };
  const { found: shown, sw } = await deliver(async (tag) => {
    for (let i = 0; i < 100; i++) {
      const [n] = await self.registration.getNotifications({ tag });
      if (n && n.data?.approvalId) return { title: n.title, body: n.body, actions: n.actions.map((a) => a.action), data: n.data };
      await new Promise((r) => setTimeout(r, 50));
    }
    return null;
  });
  if (!shown || !shown.body.includes(args.command) || shown.actions.join() !== 'allow_once,deny') throw new Error(`notification shown: ${JSON.stringify(shown)}`);
  ok(`the service worker showed "${shown.title}" with Allow once / Deny`);

  // Tapping "Allow once": the worker decides with the phone's own cookie.
  // The worker confirms with an "Allowed once" notification under the same tag; wait for it, or it could land on top of
  // the repeated push below and turn that into a notification with nothing to decide.
  const confirmed = await sw.evaluate(async (tag) => {
    const [n] = await self.registration.getNotifications({ tag });
    self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n, action: 'allow_once' }));
    for (let i = 0; i < 600; i++) {
      const [shown] = await self.registration.getNotifications({ tag });
      if (shown && shown.title === 'Allowed once') return shown.title;
      await new Promise((r) => setTimeout(r, 50));
    }
    return null;
  }, message.tag);
  if (confirmed !== 'Allowed once') throw new Error(`after "Allow once" the worker showed: ${JSON.stringify(confirmed)}`);
  let approval;
  for (let i = 0; i < 600 && approval?.status !== 'decided'; i++) {
    approval = (await laptop('GET', `/api/approvals/${message.approvalId}`)).body;
    if (approval?.status !== 'decided') await new Promise((r) => setTimeout(r, 100));
  }
  if (approval?.decision !== 'allow_once' || approval.decidedBy !== 'Notified phone') throw new Error(`approval after the tap: ${JSON.stringify(approval)}`);
  const ledger = (await laptop('GET', '/api/ledger?limit=500')).body;
  if (!ledger.entries.some((e) => e.action === 'approval.decided' && e.subject === message.approvalId && e.actor === 'Notified phone')) {
    throw new Error('the decision from the notification is not in the ledger');
  }
  ok('"Allow once" on the notification allowed it as the phone, and the ledger says so');

  const late = await laptop('POST', `/api/approvals/${message.approvalId}/decision`, { decision: 'deny' });
  if (late.status !== 409) throw new Error(`a second decision got ${late.status}`);
  // The same notification tapped again (a second phone that had it too): the worker shows "Already decided".
  const { found: pushedAgain, sw: lateWorker } = await deliver(async (tag) => {
    for (let i = 0; i < 100; i++) {
      const [n] = await self.registration.getNotifications({ tag });
      if (n && n.data?.approvalId) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return null;
  });
  if (!pushedAgain) throw new Error('the repeated push was not shown');
  const again = await lateWorker.evaluate(async (tag) => {
    const [shown] = await self.registration.getNotifications({ tag });
    self.dispatchEvent(new NotificationEvent('notificationclick', { notification: shown, action: 'deny' }));
    for (let i = 0; i < 600; i++) {
      const [n] = await self.registration.getNotifications({ tag });
      if (n && n.title === 'Already decided') return n.body;
      await new Promise((r) => setTimeout(r, 50));
    }
    return null;
  }, message.tag);
  if (!again || !again.includes('already')) throw new Error(`a late Deny from the notification: ${JSON.stringify(again)}`);
  ok('a second decision gets 409, and a late Deny on the notification says "Already decided"');

  await page.goto(`${base}/`);
  await page.waitForFunction(() => document.title === 'PocketCoder');
  if (await page.locator('.pending-badge').count()) throw new Error('the pending badge stayed after the decision');
  ok('the badge and the count go once it is decided');

  // The Devices screen shows this device's push channel and its last delivery.
  await page.goto(`${base}/devices`);
  await page.locator('.notify [data-channel="web_push"]').filter({ hasText: 'last delivered' }).waitFor();
  await page.screenshot({ path: join(args.shots, 'notify-02-devices.png'), fullPage: true });
  ok('Devices shows the push channel and its last delivery');

  // A command cut to fit: what the notification shows is harmless, what runs after it is not. Deny only. The phone's
  // screen goes off first (the app says "hidden" and stops its "visible" reports), so the machine pushes.
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await call('POST', '/api/notifications/presence', { visible: false });
  const cutSession = await laptop('POST', `/api/projects/${project.body.id}/sessions`, { agent: 'claude-code', prompt: 'print a line' });
  if (cutSession.status !== 201 && cutSession.status !== 200) throw new Error(`start session: ${JSON.stringify(cutSession)}`);
  let cutPlaintext;
  let cut;
  // The first session's "turn finished" may come first.
  do {
    cutPlaintext = decrypt((await nextPush()).body);
    cut = JSON.parse(cutPlaintext);
  } while (cut.event === 'turn.finished');
  const hidden = args['cut-command'].slice(args['cut-command'].lastIndexOf(';'));
  if (cut.event !== 'approval.requested' || !cut.body.includes('Not shown whole') || cut.body.includes(hidden) || !cut.actions || 'allowToken' in cut) {
    throw new Error(`the cut command's push: ${cutPlaintext}`);
  }
  const shownActions = async (tag) => {
    for (let i = 0; i < 100; i++) {
      const [n] = await self.registration.getNotifications({ tag });
      if (n && n.data?.approvalId) return n.actions.map((a) => a.action);
      await new Promise((r) => setTimeout(r, 50));
    }
    return null;
  };
  const { found: cutActions } = await deliver(shownActions, cutPlaintext, cut.tag);
  if (cutActions?.join() !== 'deny') throw new Error(`the cut command's notification offered: ${JSON.stringify(cutActions)}`);
  ok('a cut command is pushed saying it is not shown whole, and its notification offers only Deny');

  // The same push forged to offer Allow (a made-up token): the worker shows it, the server refuses the allow, the app opens.
  // The same tag replaces the notification shown: it goes first, so that the one looked at is the new one.
  const clear = (tag) => (context.serviceWorkers().at(-1) ?? worker).evaluate(async (t) => {
    for (const n of await self.registration.getNotifications({ tag: t })) n.close();
  }, tag);
  await clear(cut.tag);
  const forged = JSON.stringify({ ...cut, allowToken: 'forged-token-forged-token-forged-token-abc' });
  const { found: forgedActions, sw: forgedWorker } = await deliver(shownActions, forged, cut.tag);
  if (forgedActions?.join() !== 'allow_once,deny') throw new Error(`the forged notification offered: ${JSON.stringify(forgedActions)}`);
  await forgedWorker.evaluate(async (tag) => {
    const [n] = await self.registration.getNotifications({ tag });
    self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n, action: 'allow_once' }));
  }, cut.tag);
  await page.waitForURL(`${base}/s/${cutSession.body.id}`);
  const stillPending = (await laptop('GET', `/api/approvals/${cut.approvalId}`)).body;
  if (stillPending?.status !== 'pending') throw new Error(`after the forged Allow: ${JSON.stringify(stillPending)}`);
  ok('an Allow forged onto that notification is refused by the server (NOT_SHOWN_WHOLE): the app opens on the session, the approval still waits');

  // Its Deny works from the notification.
  await clear(cut.tag);
  const { found: again2, sw: denyWorker } = await deliver(shownActions, cutPlaintext, cut.tag);
  if (again2?.join() !== 'deny') throw new Error(`the cut command's notification, again: ${JSON.stringify(again2)}`);
  await denyWorker.evaluate(async (tag) => {
    const [n] = await self.registration.getNotifications({ tag });
    self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n, action: 'deny' }));
  }, cut.tag);
  let denied;
  for (let i = 0; i < 600 && denied?.status !== 'decided'; i++) {
    denied = (await laptop('GET', `/api/approvals/${cut.approvalId}`)).body;
    if (denied?.status !== 'decided') await new Promise((r) => setTimeout(r, 100));
  }
  if (denied?.decision !== 'deny' || denied.decidedBy !== 'Notified phone') throw new Error(`after Deny on the notification: ${JSON.stringify(denied)}`);
  ok('Deny on that notification denies it as the phone');

  if (errors.length) throw new Error(`script errors: ${errors.join('; ')}`);
  ok('no script errors');
} catch (e) {
  exitCode = 1;
  await reportFailure(page, e, join(args.shots, 'notify-failure.png'));
} finally {
  await context.close();
  pushService.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(exitCode);
