// A slow network and no network (issue #37, item 8). Started by tests/PocketCoder.Tests/Browser/ThirdPassOfflineBrowserTests.cs.
//
//   node e2e/third-pass-offline.mjs --url URL --code PAIRCODE --repo DIR --offline TEXT --reply TEXT --decide TEXT --done TEXT
//     [--shots DIR]; env POCKETCODER_LAPTOP_TOKEN
//
// (a) A fresh phone on Slow 3G (Chromium's own emulation: 400 kbps each way, 2000 ms round trip) paints index.html's
//     shell as soon as the page arrives: first-contentful-paint comes with the document, not seconds later with the
//     app's stylesheet, script and first API answers. Chromium holds even the document's body back by the emulated
//     2000 ms, so no page paints before ~2.2 s here (a bare "hello" page measures 2216-2280 ms): "under 2000 ms" cannot
//     be met as such. What is checked: first paint less than one emulated round trip after the document's last byte
//     (so it waited for no other request: a stylesheet in <head> alone would add a 2000 ms round trip), and under
//     4000 ms in all (the floor plus one round trip).
// (b) A session opened online, then the network gone and the app reloaded: the session still shows its transcript,
//     from this phone's copy, and says it is offline.
// (d) (#51) There, a message sent offline waits in the outbox ("waiting for the connection", kept across a reload, at 390x844
//     and 360x640), and goes by itself, once, when the network is back (the test counts the model's requests).
// (e) (#51) Decisions taken offline on the session's cards: Allow once at 390x844 and Deny at 360x640 wait on the card, are
//     kept across a reload, and go by themselves, once, when the network is back; one the laptop decided meanwhile is said
//     plainly ("… already denied it"). See decisionsOffline below.
// (c) The owner's real cold start: the installed app opened again. The phone has loaded the app once (service worker
//     installed and controlling); a new page, on Slow 3G from before its first request, opens the app's root: the
//     service worker answers the navigation from its cache with no network wait, so first-contentful-paint comes in
//     under 2000 ms (a network-first worker waits out the 2000 ms round trip first), and the shell or the app shows.
//     The app's script, cached too, may run before that first paint: its loading screen has the shell's words, so the
//     first contentful paint does not wait for the API's answers (a bare spinner made it wait a round trip: 2212 ms).
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchPhone, ok, runPhoneScript, smallTargets } from './phone.mjs';

const SLOW_3G = { offline: false, latency: 2000, downloadThroughput: (400 * 1000) / 8, uploadThroughput: (400 * 1000) / 8 };

/** Opens the app in `page` on Slow 3G, emulated from before the first request, and waits for its first paint. */
async function openOnSlow3g(context, page, base) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', SLOW_3G);
  await page.goto(`${base}/`, { waitUntil: 'commit', timeout: 60_000 });
  await page.waitForFunction(() => performance.getEntriesByType('paint').some((p) => p.name === 'first-contentful-paint'), null, { timeout: 60_000 });
}

/** The app opened again in a new page of the same profile, on Slow 3G from before the first request. */
async function reopened(context, base, shots) {
  const page = await context.newPage();
  try {
    await openOnSlow3g(context, page, base);
    const figures = await page.evaluate(() => {
      const fcp = performance.getEntriesByType('paint').find((p) => p.name === 'first-contentful-paint').startTime;
      const nav = performance.getEntriesByType('navigation')[0];
      return {
        fcp: Math.round(fcp),
        responseEnd: Math.round(nav.responseEnd),
        controlled: navigator.serviceWorker.controller !== null,
      };
    });
    // What shows, asked until it has an answer: the cached script may be swapping the shell for the app's first screen at
    // the moment of asking (one CI run caught #app mid-swap, with no height yet), so one look could see neither.
    const shownHandle = await page.waitForFunction(() => {
      const shell = document.querySelector('[data-boot-shell]');
      const shellShown = !!shell && shell.getBoundingClientRect().height > 0 && shell.textContent.includes('PocketCoder');
      const app = document.getElementById('app');
      // With the script cached too, the app may already have taken the shell's place: its own loading screen (the same
      // header and "Loading…", while the first API answers cross the slow network) or a screen.
      const appShown = !shell && !!app?.firstElementChild && app.getBoundingClientRect().height > 0;
      const loading = !!app?.querySelector('[data-loading]');
      return shellShown ? 'the shell' : appShown ? (loading ? "the app's loading screen" : 'the app') : '';
    }, null, { timeout: 10_000 }).catch(() => null);
    figures.shown = shownHandle ? await shownHandle.jsonValue() : '';
    await page.screenshot({ path: shots('third-pass-03-reopened-slow-3g.png') });
    // Then the app itself, from the same cache: its screen once the first answers have crossed the slow network.
    await page.waitForFunction(() => !document.querySelector('[data-loading], [data-boot-shell]') && document.getElementById('app').textContent.trim() !== '', null, { timeout: 60_000 });
    return figures;
  } finally {
    await page.close();
  }
}

/** First paint of a fresh profile on Slow 3G: the figures, and what the page showed when it first painted. */
async function coldStart(chromium, base, shots) {
  const profile = mkdtempSync(join(tmpdir(), 'pc-chromium-cold-'));
  const context = await launchPhone({ executablePath: chromium, profile });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await openOnSlow3g(context, page, base);
    const figures = await page.evaluate(() => {
      const fcp = performance.getEntriesByType('paint').find((p) => p.name === 'first-contentful-paint').startTime;
      const nav = performance.getEntriesByType('navigation')[0];
      const shell = document.querySelector('[data-boot-shell]');
      const box = shell?.getBoundingClientRect();
      return {
        fcp: Math.round(fcp),
        responseStart: Math.round(nav.responseStart),
        responseEnd: Math.round(nav.responseEnd),
        shell: !!shell && box.height > 0 && shell.textContent.includes('Loading') && shell.textContent.includes('PocketCoder'),
      };
    });
    await page.screenshot({ path: shots('third-pass-01-cold-shell.png') });
    // The app itself still arrives, and takes the shell's place.
    await page.locator('input[name="deviceName"]').waitFor({ timeout: 90_000 });
    const shellLeft = await page.locator('[data-boot-shell]').count();
    return { ...figures, shellLeft };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

await runPhoneScript('third-pass-offline', 'Offline phone', async ({ page, base, projectId, context, chromium, shots, args }) => {
  // (a) Cold start on Slow 3G, a fresh profile of its own.
  const cold = await coldStart(chromium, base, shots);
  console.log(`# Slow 3G cold start: first-contentful-paint ${cold.fcp} ms (document: first byte ${cold.responseStart} ms, last ${cold.responseEnd} ms)`);
  if (!cold.shell) throw new Error('the first paint did not show the shell (header and "Loading…")');
  if (cold.fcp - cold.responseEnd >= SLOW_3G.latency) {
    throw new Error(`first paint ${cold.fcp - cold.responseEnd} ms after the document's last byte: it waited for another request`);
  }
  if (cold.fcp >= 2 * SLOW_3G.latency) throw new Error(`first-contentful-paint ${cold.fcp} ms: over ${2 * SLOW_3G.latency} ms`);
  if (cold.shellLeft !== 0) throw new Error('the shell stayed on screen after the app arrived');
  ok(`Slow 3G: the shell painted at ${cold.fcp} ms, ${cold.fcp - cold.responseEnd} ms after the document's last byte (the emulated round trip alone is ${SLOW_3G.latency} ms), then the app replaced it`);

  // (c) The installed app opened again, on Slow 3G: the phone has loaded the app once, its service worker controls it.
  await page.goto(`${base}/`);
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  const again = await reopened(context, base, shots);
  console.log(`# Slow 3G, app opened again: first-contentful-paint ${again.fcp} ms (document's last byte ${again.responseEnd} ms, controlled: ${again.controlled})`);
  if (!again.controlled) throw new Error('the reopened page is not controlled by the service worker');
  if (!again.shown) throw new Error('the reopened page painted neither the shell nor the app');
  if (again.fcp >= 2000) throw new Error(`first-contentful-paint ${again.fcp} ms when the app is opened again on Slow 3G: not under 2000 ms`);
  ok(`Slow 3G, the app opened again: ${again.shown} painted at ${again.fcp} ms, answered by the service worker`);

  // (b) A session opened online.
  await page.goto(`${base}/p/${projectId}/new`);
  await page.locator('textarea[name="prompt"]').fill('Tell me something to read offline');
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  const sessionId = new URL(page.url()).pathname.split('/')[2];
  const said = 'Here is something to read on the train.';
  await page.locator('[data-testid="message"]').filter({ hasText: said }).first().waitFor();
  await page.locator('.working').waitFor({ state: 'detached' });
  // Kept on this phone a moment after the last event: wait until the copy holds the answer.
  const kept = async () => page.evaluate((id) => new Promise((resolve) => {
    const open = indexedDB.open('pocketcoder-offline');
    open.onerror = () => resolve('');
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains('transcripts')) return resolve('');
      const get = db.transaction('transcripts').objectStore('transcripts').get(id);
      get.onsuccess = () => resolve(JSON.stringify(get.result?.events ?? []));
      get.onerror = () => resolve('');
    };
  }), sessionId);
  // (Not a failure by itself: what counts is what the phone shows offline, below.)
  let tries = 0;
  while (!(await kept()).includes(said) && tries++ < 50) await page.waitForTimeout(100);
  console.log(tries > 50 ? '# the session is not kept on the phone after 5 s' : '# the session opened online is kept on the phone');

  // Offline: reload, open the session from Home.
  await page.goto(`${base}/`);
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await context.setOffline(true);
  try {
    await page.reload();
    await page.locator('.offline').waitFor();
    await page.locator(`a[href="/s/${sessionId}"]`).first().click();
    await page.waitForURL(new RegExp(`/s/${sessionId}$`));
    await page.locator('[data-testid="message"]').filter({ hasText: said }).first().waitFor({ timeout: 15_000 });
    await page.locator('[data-testid="message"]').filter({ hasText: 'Tell me something to read offline' }).first().waitFor();
    await page.locator('[data-testid="offline-copy"]').waitFor();
    const errors = await page.locator('.error-note').allInnerTexts();
    if (errors.length) throw new Error(`the offline session shows an error: ${errors.join(' | ')}`);
    await page.screenshot({ path: shots('third-pass-02-offline-session.png'), fullPage: true });
    ok('offline after a reload: the session shows its transcript from the phone, and says it is offline');

    // (d) #51: a message sent offline is kept, shown as waiting for the connection (a reload keeps it), at 390x844 and 360x640.
    await page.getByRole('textbox', { name: 'Message' }).fill(args.offline);
    await page.getByRole('button', { name: 'Send' }).click();
    const outbox = page.getByRole('region', { name: 'Waiting for the connection' });
    await outbox.locator('.outbox-item', { hasText: args.offline }).waitFor({ timeout: 5000 });
    await page.reload();
    await outbox.locator('.outbox-item', { hasText: args.offline }).waitFor({ timeout: 15_000 });
    for (const [width, height] of [[390, 844], [360, 640]]) {
      await page.setViewportSize({ width, height });
      await outbox.getByText('Waiting for the connection').scrollIntoViewIfNeeded();
      const { bad } = await smallTargets(page);
      if (bad.length) throw new Error(`controls under 44x44 at ${width}x${height}: ${bad.join('; ')}`);
      await page.screenshot({ path: shots(`third-pass-04-outbox-${width}.png`) });
    }
    await page.setViewportSize({ width: 390, height: 844 });
    ok('a message sent offline waits in the outbox, "waiting for the connection", and a reload keeps it (390x844, 360x640)');
  } finally {
    await context.setOffline(false);
  }
  // Back online: it goes by itself, once (the model's requests are counted by the test), and the offline note goes.
  await page.locator('.md', { hasText: args.reply }).waitFor({ timeout: 30_000 });
  await page.getByRole('region', { name: 'Waiting for the connection' }).waitFor({ state: 'detached', timeout: 5000 });
  await page.locator('.offline').waitFor({ state: 'detached', timeout: 15_000 });
  await page.locator('.user-bubble', { hasText: args.offline }).waitFor();
  if (await page.locator('.user-bubble', { hasText: args.offline }).count() !== 1) throw new Error('the message shows twice in the transcript');
  ok('back online, the kept message went by itself, once; the agent answered; the offline note is gone');

  await decisionsOffline({ page, context, base, shots, args, kept });
}, { offline: { type: 'string' }, reply: { type: 'string' }, decide: { type: 'string' }, done: { type: 'string' } });

/**
 * (e) #51: decisions taken offline. The agent asks for three commands in turn (the test scripts the model): Allow once on
 * the first, tapped offline at 390x844, waits on the card ("waiting for the connection", taken back and taken again, kept
 * across a reload) and goes by itself when the network is back: the command runs once (the test reads the file). Deny on
 * the second, with words for the agent, offline at 360x640, goes the same way. Allow once on the third, offline, while the
 * laptop denies it meanwhile: back online the phone says plainly that it was not sent and why. The ledger holds exactly
 * one decision of each call.
 */
async function decisionsOffline({ page, context, base, shots, args, kept }) {
  const laptop = process.env.POCKETCODER_LAPTOP_TOKEN;
  if (!laptop) throw new Error('env POCKETCODER_LAPTOP_TOKEN is missing');
  const asLaptop = async (method, path, body) => {
    const response = await fetch(base + path, {
      method, headers: { authorization: `Bearer ${laptop}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body),
    });
    return { status: response.status, body: await response.json().catch(() => null) };
  };
  const ids = [];
  const nextCall = async () => {
    // A new call: the one before may show as pending a moment after its kept decision went, until its answer arrives.
    const card = page.locator(`section.approval.pending[aria-label="Approval needed"]${ids.map((id) => `:not([data-approval="${id}"])`).join('')}`).last();
    await card.waitFor({ timeout: 60_000 });
    const id = await card.getAttribute('data-approval');
    if (ids.includes(id)) throw new Error(`the call ${id} asks again`);
    ids.push(id);
    // The phone's copy holds the call before the network goes (a reload offline reads it from there).
    let tries = 0;
    while (!(await kept()).includes(id) && tries++ < 50) await page.waitForTimeout(100);
    // And what the server offers this person (its approvals list, asked when the call arrives): a card whose offers are
    // not known draws no buttons, and offline they would stay unknown.
    const shown = page.locator(`section.approval[data-approval="${id}"]`);
    await shown.getByRole('button', { name: 'Allow once' }).waitFor({ timeout: 30_000 });
    return { card: shown, id };
  };
  const waitingCard = (id, decision) => page.locator(`section[data-approval="${id}"][data-kept="${decision}"]`);
  const offline = async () => {
    await context.setOffline(true);
    await page.locator('.offline').waitFor({ timeout: 15_000 });
  };
  const checkScreen = async (width, height, file) => {
    const { bad } = await smallTargets(page);
    if (bad.length) throw new Error(`controls under 44x44 at ${width}x${height}: ${bad.join('; ')}`);
    await page.screenshot({ path: shots(file) });
  };

  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('textbox', { name: 'Message' }).fill(args.decide);
  await page.getByRole('button', { name: 'Send' }).click();

  // Allow once, offline, 390x844.
  const first = await nextCall();
  await offline();
  try {
    await first.card.getByRole('button', { name: 'Allow once' }).click();
    const allowWaits = waitingCard(first.id, 'allow_once');
    await allowWaits.getByText('waiting for the connection').waitFor({ timeout: 5000 });
    // Taken back while it waits, the card offers its buttons again; taken again, it waits again.
    await allowWaits.getByRole('button', { name: 'Take it back' }).click();
    await first.card.getByRole('button', { name: 'Allow once' }).click();
    await allowWaits.waitFor({ timeout: 5000 });
    await page.reload();
    await allowWaits.waitFor({ timeout: 15_000 });
    await allowWaits.scrollIntoViewIfNeeded();
    await checkScreen(390, 844, 'third-pass-05-allow-waiting-390.png');
  } finally {
    await context.setOffline(false);
  }
  ok('Allow once tapped offline: the card shows it taken, "waiting for the connection", can be taken back, and a reload keeps it (390x844)');

  // Back online it went by itself: the agent ran the command and asks for the next. Deny, offline, 360x640.
  const second = await nextCall();
  await page.setViewportSize({ width: 360, height: 640 });
  await offline();
  try {
    await second.card.getByRole('button', { name: 'Deny…' }).click();
    await second.card.getByRole('textbox').fill('Not this one');
    await second.card.getByRole('button', { name: 'Deny', exact: true }).click();
    const denyWaits = waitingCard(second.id, 'deny');
    await denyWaits.getByText('waiting for the connection').waitFor({ timeout: 5000 });
    await denyWaits.scrollIntoViewIfNeeded();
    await checkScreen(360, 640, 'third-pass-06-deny-waiting-360.png');
  } finally {
    await context.setOffline(false);
  }
  ok('Deny kept offline with its words, shown waiting (360x640)');

  // The third: allowed offline while the laptop denies it; back online the phone says so instead of dropping it.
  const third = await nextCall();
  await offline();
  try {
    await third.card.getByRole('button', { name: 'Allow once' }).click();
    await waitingCard(third.id, 'allow_once').waitFor({ timeout: 5000 });
    const denied = await asLaptop('POST', `/api/approvals/${third.id}/decision`, { decision: 'deny', message: 'Decided on the laptop' });
    if (denied.status !== 200) throw new Error(`the laptop's deny: ${denied.status} ${JSON.stringify(denied.body)}`);
  } finally {
    await context.setOffline(false);
  }
  const note = page.getByRole('region', { name: 'Decisions not taken' }).getByRole('alert');
  await note.waitFor({ timeout: 30_000 });
  const said = await note.innerText();
  if (!/Allow once of .*was not sent: .+ already denied it/s.test(said)) throw new Error(`the refusal says: ${said}`);
  await note.scrollIntoViewIfNeeded();
  await checkScreen(360, 640, 'third-pass-07-refused-360.png');
  await note.getByRole('button', { name: 'OK' }).click();
  await note.waitFor({ state: 'detached' });
  ok(`a kept Allow refused on arrival is said plainly: "${said.split('\n')[0]}"`);

  await page.locator('.md', { hasText: args.done }).waitFor({ timeout: 60_000 });
  const ledger = await asLaptop('GET', '/api/ledger?limit=1000');
  const decided = (id) => ledger.body.entries.filter((e) => e.action === 'approval.decided' && e.subject === id).map((e) => e.detail.decision);
  const each = ids.map(decided);
  if (JSON.stringify(each) !== JSON.stringify([['allow_once'], ['deny'], ['deny']])) throw new Error(`the ledger's decisions of the three calls: ${JSON.stringify(each)}`);
  if (await page.locator('[data-kept]').count() !== 0) throw new Error('a card still shows a kept decision');
  ok('the ledger holds one decision of each call: allow_once, deny, and the laptop\'s deny');
}
