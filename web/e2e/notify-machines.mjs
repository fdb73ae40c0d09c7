// Notifications from another machine (issue #54), in Debian's Chromium at 390x844: the phone, paired with machine A (the
// app's own), adds machine B and turns on "Notify me from this machine" on the Machines screen. This script is the
// browser's push service (as in notify.mjs): headless Chromium has no push service, so the browser's subscription is
// stood in for by keys made here (the app reads it through PushManager.getSubscription, which this script answers). The
// REAL Claude Code on B asks; B encrypts to those keys and posts through A's relay; the push arrives signed with A's VAPID
// key and is decrypted here; handed to the service worker, it shows with Allow once / Deny, and Allow once decides the
// call on B, as the phone's device there. A push naming a machine the app does not hold shows no actions. Turned off, the
// relay on A is revoked and B forgets the subscription; removed, B is gone from the worker's store.
// Started by tests/PocketCoder.Tests/Notifications/NotificationBrowserTests.cs.
//
//   node e2e/notify-machines.mjs --url URL --code PAIRCODE --repo DIR --machine-b FILE [--shots DIR]
//
// FILE (written by the test): {url, code (a pairing code of B), token (a device of B for this script's own calls),
// projectId (a project on B), command (what the agent on B asks to run)}. Prints "ok - <step>"; exits 0, or 1.

import { readFileSync } from 'node:fs';
import { ok, runPhoneScript } from './phone.mjs';
import { browserSubscriptionKeys, startPushService } from './pushService.mjs';

await runPhoneScript('notify-machines', 'Relay phone', async ({ page, base, shots, args, context }) => {
  const b = JSON.parse(readFileSync(args['machine-b'], 'utf8'));
  const origin = new URL(base).origin;
  const originB = new URL(b.url).origin;
  await context.grantPermissions(['notifications'], { origin });

  // The browser's side of the subscription, and the push service it names.
  const { publicKey: browserPublicKey, authSecret, decrypt } = browserSubscriptionKeys();
  const pushService = await startPushService();
  const { endpoint, nextPush } = pushService;
  const keys = { p256dh: browserPublicKey.toString('base64url'), auth: authSecret.toString('base64url') };
  await context.addInitScript(({ endpoint, keys }) => {
    if (!self.PushManager) return;
    const subscription = { endpoint, options: {}, toJSON: () => ({ endpoint, expirationTime: null, keys }), unsubscribe: async () => true };
    PushManager.prototype.getSubscription = async () => subscription;
  }, { endpoint, keys });

  try {
    const onA = (method, path, body) => page.evaluate(async ({ method, path, body }) => {
      const r = await fetch(path, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
      return { status: r.status, body: r.status === 204 ? null : await r.json() };
    }, { method, path, body });
    const onB = async (method, path, body) => {
      const r = await fetch(`${b.url}${path}`, {
        method, headers: { 'content-type': 'application/json', authorization: `Bearer ${b.token}` }, body: body ? JSON.stringify(body) : undefined,
      });
      return { status: r.status, body: r.status === 204 ? null : await r.json() };
    };
    const workerStore = () => page.evaluate((o) => new Promise((resolve, reject) => {
      const opening = indexedDB.open('pocketcoder-worker', 1);
      opening.onerror = () => reject(opening.error);
      opening.onsuccess = () => {
        const read = opening.result.transaction('machines', 'readonly').objectStore('machines').get(o);
        read.onsuccess = () => { opening.result.close(); resolve(read.result ?? null); };
      };
    }), originB);

    // Notifications on for A (its subscription: the keys above), then B added on Machines.
    const subscribed = await onA('PUT', '/api/notifications/web-push', { endpoint, keys });
    if (subscribed.status !== 200) throw new Error(`subscribing on A: ${JSON.stringify(subscribed)}`);
    await page.goto(`${base}/machines`);
    const form = page.getByRole('form', { name: 'Add a machine' });
    await form.locator('input[name="link"]').fill(`${b.url}/#pair=${b.code}`);
    await form.locator('input[name="name"]').fill('Desktop');
    await form.getByRole('button', { name: 'Add machine' }).click();
    const notify = page.locator('[data-testid="machine-row"] [data-testid="machine-notify"]');
    await notify.and(page.locator('[data-state="off"]')).waitFor();
    const [kept] = await page.evaluate(() => JSON.parse(localStorage.getItem('pocketcoder.machines.v1')));
    const stored = await workerStore();
    if (stored?.id !== kept.id || stored.token !== kept.token) throw new Error(`the worker's store for B: ${JSON.stringify(stored)}`);
    ok('B added: the worker\'s store (IndexedDB) holds its origin, id and this phone\'s token there');

    // "Notify me from this machine": a relay on A, the subscription on B through it.
    await notify.getByRole('button', { name: 'Notify me from this machine' }).click();
    await notify.and(page.locator('[data-state="on"]')).waitFor();
    await page.screenshot({ path: shots('notify-machines-01-on.png'), fullPage: true });
    const relays = (await onA('GET', '/api/push/relays')).body;
    if (relays.length !== 1 || relays[0].label !== 'Desktop') throw new Error(`relays on A: ${JSON.stringify(relays)}`);
    const channelOnB = (await onB('GET', '/api/devices')).body.find((d) => d.id === kept.deviceId)?.notifications?.[0];
    if (!channelOnB?.relayed || channelOnB.host !== '127.0.0.1') throw new Error(`B's channel for the phone: ${JSON.stringify(channelOnB)}`);
    ok('"Notify me from this machine": a relay on A (labelled Desktop), and on B a relayed subscription; the screen says on');

    // A call on B reaches the push service through A, signed with A's key, readable here only.
    const vapidOfA = (await onA('GET', '/api/notifications')).body.vapidPublicKey;
    const started = await onB('POST', `/api/projects/${b.projectId}/sessions`, { agent: 'claude-code', mode: 'ask', prompt: 'Write relayed.txt' });
    if (started.status !== 201 && started.status !== 200) throw new Error(`starting on B: ${JSON.stringify(started)}`);
    const push = await nextPush();
    if (!String(push.headers.authorization).startsWith('vapid t=') || !String(push.headers.authorization).endsWith(`k=${vapidOfA}`)) {
      throw new Error(`not signed with A's VAPID key: ${push.headers.authorization}`);
    }
    if (push.body.includes(Buffer.from(b.command))) throw new Error('the push service (or A) could read the command');
    const plaintext = decrypt(push.body);
    const message = JSON.parse(plaintext);
    if (message.event !== 'approval.requested' || message.machine !== originB || !message.body.includes(b.command) || typeof message.allowToken !== 'string') {
      throw new Error(`unexpected push: ${plaintext}`);
    }
    ok('B\'s call arrived through A\'s relay: VAPID of A, encrypted on B to this browser, naming B');

    // Handed to the service worker: it shows B's call with Allow once / Deny, leading to B's session in the app.
    const cdp = await context.newCDPSession(page);
    const registration = new Promise((resolve) => cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
      const found = e.registrations.find((r) => r.scopeURL.startsWith(origin) && !r.isDeleted);
      if (found) resolve(found.registrationId);
    }));
    await cdp.send('ServiceWorker.enable');
    const registrationId = await registration;
    const deliver = async (data, tag) => {
      for (let attempt = 1; attempt <= 3; attempt++) {
        await cdp.send('ServiceWorker.deliverPushMessage', { origin: origin + '/', registrationId, data });
        const sw = context.serviceWorkers().at(-1);
        const found = await sw?.evaluate(async (t) => {
          for (let i = 0; i < 100; i++) {
            const [n] = await self.registration.getNotifications({ tag: t });
            if (n) return { title: n.title, actions: n.actions.map((a) => a.action), data: n.data };
            await new Promise((r) => setTimeout(r, 50));
          }
          return null;
        }, tag).catch(() => null);
        if (found) return { found, sw };
      }
      throw new Error(`the worker showed nothing for ${tag}`);
    };
    const tag = `${kept.id}:${message.tag}`;
    const { found: shown, sw } = await deliver(plaintext, tag);
    if (shown.actions.join() !== 'allow_once,deny' || shown.data.machine !== originB || shown.data.url !== `/m/${kept.id}/s/${started.body.id}`) {
      throw new Error(`notification shown: ${JSON.stringify(shown)}`);
    }
    ok(`the worker showed "${shown.title}" with Allow once / Deny, opening /m/<B>/s/<session>`);

    // Allow once: posted to B with the phone's B token and B's allow token; B's gate decides, as the phone's device there.
    const confirmed = await sw.evaluate(async (t) => {
      const [n] = await self.registration.getNotifications({ tag: t });
      self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n, action: 'allow_once' }));
      for (let i = 0; i < 600; i++) {
        const [after] = await self.registration.getNotifications({ tag: t });
        if (after && after.title !== n.title) return after.title;
        await new Promise((r) => setTimeout(r, 50));
      }
      return null;
    }, tag);
    const approval = (await onB('GET', `/api/approvals/${message.approvalId}`)).body;
    // What B holds tells a decision that never reached it (the worker's fetch failed) from an answer the worker did not show.
    if (confirmed !== 'Allowed once') throw new Error(`after "Allow once" the worker showed: ${JSON.stringify(confirmed)}; B's approval: ${JSON.stringify(approval)}`);
    if (approval.decision !== 'allow_once' || approval.decidedBy !== `Phone via ${new URL(base).host}`) throw new Error(`B's approval: ${JSON.stringify(approval)}`);
    ok('"Allow once" on the notification decided the call on B, as the phone\'s device there');

    // A push naming a machine this app does not hold: shown, no actions, and a tap only opens the app.
    const forged = JSON.stringify({ ...message, machine: 'http://127.0.0.1:9', tag: 'forged' });
    const { found: stranger } = await deliver(forged, 'forged');
    if (stranger.actions.length || stranger.data.url !== '/' || stranger.data.machine) throw new Error(`unknown machine's push: ${JSON.stringify(stranger)}`);
    ok('a push naming a machine the app does not hold shows no actions and leads only into the app');

    // Off: B forgets the subscription, A revokes the relay. Removed: gone from the worker's store.
    await page.goto(`${base}/machines`);
    await notify.and(page.locator('[data-state="on"]')).waitFor();
    await notify.getByRole('button', { name: 'Stop notifications from this machine' }).click();
    await notify.and(page.locator('[data-state="off"]')).waitFor();
    const left = (await onA('GET', '/api/push/relays')).body;
    if (left.length !== 0) throw new Error(`relays on A after turning off: ${JSON.stringify(left)}`);
    ok('turned off: the relay on A is revoked, and B holds no subscription for the phone');
    await page.getByRole('button', { name: 'Remove Desktop' }).click();
    await page.locator('[data-testid="machine-row"]').waitFor({ state: 'detached' });
    if (await workerStore()) throw new Error('B is still in the worker\'s store after it was removed');
    ok('removed: B and its token are gone from the worker\'s store');
  } finally {
    pushService.close();
  }
}, { 'machine-b': { type: 'string' } });
