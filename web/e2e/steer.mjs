// Steering the whole run on the phone (issue #55), in Debian's Chromium against the real server (its agent a stand-in
// that reports usage: what is tested here is the phone and the server, not an agent's protocol).
//   Costs at a glance: the costs screen's totals are the sum of the usage events (--expect, summed by the test from the
//   sessions' own logs), at 390x844 and 360x640, by each grouping, and its CSV export says the same.
//   Read aloud: a speechSynthesis stand-in, put in before the app loads, records what it is given. Turned on in Devices,
//   the session's button speaks the latest reply as plain text; a notification tapped in the service worker opens the
//   session and speaks the reply (a finished turn) or the waiting call's line (an approval) by itself.
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

let exitCode = 0;
try {
  await pair(page, base, args.code, 'Steering phone');
  await costs();
  await readAloud();
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
