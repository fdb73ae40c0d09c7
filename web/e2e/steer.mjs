// Steering the whole run on the phone (issue #55), in Debian's Chromium against the real server (its agent a stand-in
// that reports usage: what is tested here is the phone and the server, not an agent's protocol).
//   Costs at a glance: the costs screen's totals are the sum of the usage events (--expect, summed by the test from the
//   sessions' own logs), at 390x844 and 360x640, by each grouping, and its CSV export says the same.
//   Read aloud: a speechSynthesis stand-in, put in before the app loads, records what it is given. Turned on in Devices,
//   the session's button speaks the latest reply as plain text; a notification tapped in the service worker opens the
//   session and speaks the reply (a finished turn) or the waiting call's line (an approval) by itself.
//   A link to watch: the owner makes one from the session's actions; a fresh browser profile opens it and sees the session
//   live (a call allowed meanwhile, and the reply after it); its cookie is refused for another session and for a decision
//   (403 WATCH_FORBIDDEN); the owner sees who opened it and revokes it, and the watcher's page says it no longer works; a
//   second link expired (the test moves its expiry into the past when told "expire: ID") stops working too.
// Started by tests/PocketCoder.Tests/Browser/SteerBrowserTests.cs.
//
//   node e2e/steer.mjs --url URL --code PAIRCODE --expect FILE [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchPhone, ok, pair, reportFailure, scriptArgs } from './phone.mjs';

const args = scriptArgs({ url: { type: 'string' }, code: { type: 'string' }, expect: { type: 'string' } }, ['url', 'code', 'expect'],
  'node e2e/steer.mjs --url URL --code CODE --expect FILE');
const base = args.url.replace(/\/$/, '');
const expected = JSON.parse(readFileSync(args.expect, 'utf8'));
const shots = (file) => join(args.shots, file);
const profile = mkdtempSync(join(tmpdir(), 'pc-chromium-'));
const context = await launchPhone({ executablePath: args.chromium, profile });
// The platform's synthesiser, stood in for before any page loads: what the app asks it to say is kept in window.__spoken.
await context.addInitScript(() => {
  window.__spoken = [];
  const synthesis = {
    speaking: false, pending: false, paused: false,
    speak(utterance) { window.__spoken.push(utterance.text); },
    cancel() {}, pause() {}, resume() {}, getVoices() { return []; },
    addEventListener() {}, removeEventListener() {},
  };
  Object.defineProperty(window, 'speechSynthesis', { value: synthesis, configurable: true });
  window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
});
await context.grantPermissions(['notifications'], { origin: new URL(args.url).origin });
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(30_000);
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));

const money = (n) => `$${n.toFixed(n > 0 && n < 0.01 ? 4 : 2)}`;
const text = async (testId) => (await page.locator(`[data-testid="${testId}"]`).textContent()).trim();

async function costs() {
  await page.goto(`${base}/devices`);
  await page.getByRole('link', { name: 'Costs' }).click();
  await page.waitForURL(/\/costs$/);
  for (const [width, height] of [[390, 844], [360, 640]]) {
    await page.setViewportSize({ width, height });
    await page.locator('[data-testid="costs-total-tokens"]').waitFor();
    const tokens = await text('costs-total-tokens');
    const cost = await text('costs-total-cost');
    const turns = await text('costs-total-turns');
    if (tokens !== expected.tokens.toLocaleString('en')) throw new Error(`the screen's tokens are ${tokens}, the usage events' ${expected.tokens}`);
    if (cost !== money(expected.costUsd)) throw new Error(`the screen's cost is ${cost}, the usage events' ${money(expected.costUsd)}`);
    if (turns !== String(expected.turns)) throw new Error(`the screen's turns are ${turns}, the usage events' ${expected.turns}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    if (wide) throw new Error(`the costs screen scrolls sideways at ${width}x${height}`);
    await page.screenshot({ path: shots(`steer-costs-${width}.png`), fullPage: true });
  }
  ok(`the costs screen's totals are the usage events' sum (${expected.tokens} tokens, ${money(expected.costUsd)}, ${expected.turns} turns) at 390x844 and 360x640`);

  // By session: a row per session, their tokens adding up to the total; the budget beside them.
  await page.locator('select[name="by"]').selectOption('session');
  await page.locator(`[data-testid="costs-row"][data-key="${expected.sessions[0]}"]`).waitFor();
  const rows = await page.locator('[data-testid="costs-row"]').count();
  if (rows !== expected.sessions.length) throw new Error(`${rows} session rows, ${expected.sessions.length} sessions spent`);
  await page.locator('[data-testid="costs-budgets"]').filter({ hasText: 'Each session may use up to $5.00.' }).waitFor();
  await page.locator('button', { hasText: '7 days' }).click();
  await page.locator('[data-testid="costs-total-tokens"]').filter({ hasText: expected.tokens.toLocaleString('en') }).waitFor();
  await page.screenshot({ path: shots('steer-costs-sessions.png'), fullPage: true });
  ok('by session over 7 days: one row per session, the budgets beside them');

  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="costs-csv"]').click()]);
  if (!/^pocketcoder-costs-by-session-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv$/.test(download.suggestedFilename())) {
    throw new Error(`the CSV is named ${download.suggestedFilename()}`);
  }
  const csv = readFileSync(await download.path(), 'utf8').trim().split('\r\n');
  const total = csv.at(-1).split(',');
  if (total[0] !== '"total"' || total[6] !== String(expected.tokens)) throw new Error(`the CSV's total line is ${csv.at(-1)}`);
  ok(`Export CSV downloads ${download.suggestedFilename()}, its total the same`);
}

const spoken = () => page.evaluate(() => window.__spoken.slice());

async function waitSpoken(text, what) {
  for (let i = 0; i < 200; i++) {
    if ((await spoken()).includes(text)) return;
    await page.waitForTimeout(50);
  }
  throw new Error(`${what}: the synthesiser was given ${JSON.stringify(await spoken())}, not ${JSON.stringify(text)}`);
}

/** Shows a notification as a push would and taps it (no action button) in the app's service worker. */
async function tapNotification(url, event) {
  const worker = context.serviceWorkers().at(-1) ?? (await context.waitForEvent('serviceworker'));
  await worker.evaluate(async ({ url, event }) => {
    await self.registration.showNotification('PocketCoder', { tag: `steer-${event}`, data: { url, approvalId: null, event } });
    const [shown] = await self.registration.getNotifications({ tag: `steer-${event}` });
    self.dispatchEvent(new NotificationEvent('notificationclick', { notification: shown }));
  }, { url, event });
}

async function readAloud() {
  await page.goto(`${base}/devices`);
  await page.locator('input[name="read-aloud"]').check();
  await page.goto(`${base}/s/${expected.replySession}`);
  await page.locator('[data-testid="read-reply"]').click();
  await waitSpoken(expected.replySpoken, 'Read the reply aloud');
  await page.screenshot({ path: shots('steer-read-aloud.png') });
  ok(`Read the reply aloud speaks the reply as plain text: "${expected.replySpoken}"`);

  // From a notification: the app open elsewhere (Home), the tap opens the session and reads the reply by itself.
  await page.goto(`${base}/`);
  await page.evaluate(() => { window.__spoken.length = 0; });
  await tapNotification(`/s/${expected.replySession}`, 'turn.finished');
  await page.waitForURL(new RegExp(`/s/${expected.replySession}$`));
  await waitSpoken(expected.replySpoken, 'a finished turn\'s notification tapped');
  ok('a finished turn\'s notification, tapped, opens the session and reads the reply; the flag leaves the address');

  await page.evaluate(() => { window.__spoken.length = 0; });
  await tapNotification(`/s/${expected.callSession}`, 'approval.requested');
  await page.waitForURL(new RegExp(`/s/${expected.callSession}$`));
  await waitSpoken(expected.callSpoken, 'a waiting call\'s notification tapped');
  await page.locator('[data-testid="read-call"]').waitFor();
  ok(`a waiting call's notification, tapped, reads its line: "${expected.callSpoken}"`);

  // Turned off, nothing is offered and a tap reads nothing.
  await page.goto(`${base}/devices`);
  await page.locator('input[name="read-aloud"]').uncheck();
  await page.evaluate(() => { window.__spoken.length = 0; });
  await tapNotification(`/s/${expected.replySession}`, 'turn.finished');
  await page.waitForURL(new RegExp(`/s/${expected.replySession}$`));
  await page.locator('[data-testid="message"]').first().waitFor();
  if (await page.locator('[data-testid="read-aloud"]').count()) throw new Error('Read aloud is offered with the setting off');
  if ((await spoken()).length) throw new Error(`with the setting off, a tap spoke ${JSON.stringify(await spoken())}`);
  ok('with Read aloud off, no button, and a tapped notification reads nothing');
}

const laptopToken = process.env.POCKETCODER_LAPTOP_TOKEN;
async function laptop(method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method, headers: { authorization: `Bearer ${laptopToken}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: response.status === 204 ? null : await response.json() };
}

/** A browser of someone else's: a fresh profile, no pairing, nothing of the owner's. */
async function freshBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'pc-watcher-'));
  const context = await launchPhone({ executablePath: args.chromium, profile });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (e) => errors.push(`watcher: ${e}`));
  return { page, close: async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); } };
}

const watcherFetch = (watcherPage, method, path, body) => watcherPage.evaluate(async ({ method, path, body }) => {
  const response = await fetch(path, { method, credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  return { status: response.status, code: (await response.json().catch(() => ({}))).code };
}, { method, path, body });

async function watch() {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}/s/${expected.callSession}`);
  await page.getByRole('button', { name: 'Session actions' }).click();
  await page.getByRole('button', { name: 'Share a link to watch…' }).click();
  await page.locator('select[name="watch-hours"]').selectOption('24');
  await page.getByRole('button', { name: 'Make link' }).click();
  const url = await page.locator('[data-testid="watch-link-url"]').inputValue();
  if (!url.startsWith(`${base}/watch#`) || !/^[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/.test(url.split('#')[1])) throw new Error(`the watch link is ${url}`);
  await page.screenshot({ path: shots('steer-watch-00-made.png') });
  ok('the owner makes a 24-hour link from the session\'s actions, its secret in the fragment');

  const watcher = await freshBrowser();
  try {
    await watcher.page.goto(url);
    await watcher.page.locator('[data-testid="watch-title"]').filter({ hasText: 'Ship it: deploy' }).waitFor();
    await watcher.page.locator('.transcript').filter({ hasText: 'Waiting for a decision: make deploy' }).waitFor();
    if (new URL(watcher.page.url()).hash) throw new Error(`the secret stays in the address: ${watcher.page.url()}`);
    // Live: the owner allows the call; the watcher sees it allowed, and the reply after it, without reloading.
    const pending = (await laptop('GET', '/api/approvals')).body.find((a) => a.sessionId === expected.callSession && a.status === 'pending');
    const decided = await laptop('POST', `/api/approvals/${pending.approvalId ?? pending.id}/decision`, { decision: 'allow_once' });
    if (decided.status !== 200) throw new Error(`allowing the call: ${decided.status} ${JSON.stringify(decided.body)}`);
    await watcher.page.locator('[data-testid="message"]').filter({ hasText: 'Done: Ship it: deploy' }).waitFor();
    await watcher.page.locator('.transcript').filter({ hasText: 'Allowed by' }).waitFor();
    if (await watcher.page.locator('textarea, .approval button').count()) throw new Error('the watch page offers a composer or a decision');
    // The turn's changes, read-only: what it wrote, as a diff.
    const changes = watcher.page.locator('[data-testid="watch-changes"]');
    await changes.getByRole('button', { name: /^Turn \d+: 1 file changed$/ }).click();
    await changes.filter({ hasText: 'deployed to staging' }).waitFor();
    await watcher.page.screenshot({ path: shots('steer-watch-01-live.png'), fullPage: true });
    ok('a fresh browser opens the link and watches the session live (the call allowed, the reply after it, the turn\'s diff), with nothing to decide');

    for (const [what, method, path, body] of [
      ['another session\'s page', 'GET', `/api/sessions/${expected.replySession}/events/page`],
      ['another session', 'GET', `/api/sessions/${expected.replySession}`],
      ['the session list', 'GET', '/api/sessions'],
      ['a decision', 'POST', `/api/approvals/${pending.approvalId ?? pending.id}/decision`, { decision: 'deny' }],
      ['a message to the session', 'POST', `/api/sessions/${expected.callSession}/messages`, { text: 'hi' }],
      ['the costs', 'GET', '/api/costs'],
    ]) {
      const answer = await watcherFetch(watcher.page, method, path, body);
      if (answer.status !== 403 || answer.code !== 'WATCH_FORBIDDEN') throw new Error(`the watch cookie on ${what}: ${answer.status} ${answer.code}`);
    }
    const own = await watcherFetch(watcher.page, 'GET', `/api/sessions/${expected.callSession}/events/page`);
    if (own.status !== 200) throw new Error(`the watch cookie on its own session's page: ${own.status}`);
    ok('its cookie is refused (403 WATCH_FORBIDDEN) for another session, the session list, a decision, a message and the costs');

    // The owner sees it was opened, and revokes it from the phone: the watcher's page stops at once.
    await page.goto(`${base}/devices`);
    const row = page.locator('[data-testid="watch-link"]');
    await row.locator('[data-testid="watch-openings"]').filter({ hasText: 'Opened 1 time' }).waitFor();
    await page.screenshot({ path: shots('steer-watch-02-list.png'), fullPage: true });
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.waitFor({ state: 'detached' });
    await watcher.page.locator('[data-testid="watch-ended"]').waitFor();
    const revoked = await watcherFetch(watcher.page, 'GET', `/api/sessions/${expected.callSession}/events/page`);
    if (revoked.status !== 401) throw new Error(`the revoked cookie on its session: ${revoked.status}`);
    ok('Devices lists the link as opened once; revoked there, the watcher\'s page says it no longer works and its cookie is refused');

    // A second link, expired: its page stops working too.
    const second = (await laptop('POST', `/api/sessions/${expected.callSession}/watch-links`, { expiresInHours: 1 })).body;
    await watcher.page.goto(new URL(second.url, base).toString());
    await watcher.page.locator('[data-testid="message"]').filter({ hasText: 'Done: Ship it: deploy' }).waitFor();
    console.log(`expire: ${second.link.id}`);
    let answer;
    for (let i = 0; i < 200 && answer?.status !== 401; i++) answer = await watcherFetch(watcher.page, 'GET', '/api/watch');
    if (answer.status !== 401) throw new Error(`an expired link's cookie: ${answer.status}`);
    await watcher.page.reload();
    await watcher.page.locator('[data-testid="watch-ended"]').waitFor();
    ok('a link past its expiry stops working: its cookie is refused and its page says so');
  } finally {
    await watcher.close();
  }
}

let exitCode = 0;
try {
  await pair(page, base, args.code, 'Steering phone');
  await costs();
  await readAloud();
  await watch();
  if (errors.length) throw new Error(`script errors: ${errors.join('; ')}`);
  ok('no script errors');
} catch (e) {
  exitCode = 1;
  await reportFailure(page, e, shots('steer-failure.png'));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(exitCode);
