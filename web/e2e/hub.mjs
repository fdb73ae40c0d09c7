// The phone app through a hub, in Debian's Chromium: https://m1.hub.test:PORT resolves to the hub on loopback
// (--host-resolver-rules), the hub splices the connection to the machine, and Chromium trusts the machine's own
// certificate (its public key pinned with --ignore-certificate-errors-spki-list, as a phone trusts a real CA).
// Started by tests/PocketCoder.Tests/Reach/HubTests.cs.
//
//   node e2e/hub.mjs --link PAIRLINK --spki BASE64 [--shots DIR] [--repo DIR --prompt TEXT --reply TEXT]
//
// With --repo: also adds that project, starts a Claude Code session with the prompt, allows the file write its
// scripted model asks for on the approval card, and waits for the reply: a gated session run entirely through the hub.
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchPhone } from './phone.mjs';

const { values: args } = parseArgs({
  options: {
    link: { type: 'string' },
    spki: { type: 'string' },
    shots: { type: 'string', default: 'test-results' },
    repo: { type: 'string' },
    prompt: { type: 'string' },
    reply: { type: 'string' },
    chromium: { type: 'string', default: process.env.POCKETCODER_CHROMIUM || '/usr/bin/chromium' },
  },
});
if (!args.link || !args.spki) {
  console.error('usage: node e2e/hub.mjs --link PAIRLINK --spki BASE64 [--shots DIR]');
  process.exit(2);
}
mkdirSync(args.shots, { recursive: true });
const url = new URL(args.link);
const origin = url.origin;

const profile = mkdtempSync(join(tmpdir(), 'pc-chromium-'));
const context = await launchPhone({
  executablePath: args.chromium,
  profile,
  // Only the machine's name maps to loopback; the port (the hub's) stays as in the link.
  args: [`--host-resolver-rules=MAP ${url.hostname} 127.0.0.1`, `--ignore-certificate-errors-spki-list=${args.spki}`],
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(60_000);
let exitCode = 0;
const ok = (what) => console.log(`ok - ${what}`);
try {
  await page.goto(args.link);
  if (!(await page.evaluate(() => window.isSecureContext))) throw new Error(`${origin} is not a secure context`);
  ok('the app loads through the hub in a secure context');

  await page.locator('input[name="deviceName"]').fill('Phone via hub');
  await page.getByRole('button', { name: 'Pair', exact: true }).click();
  await page.getByRole('button', { name: 'Add project' }).waitFor();
  const cookie = (await context.cookies()).find((c) => c.name === '__Host-pocketcoder_session');
  if (!cookie?.secure || !cookie.httpOnly) throw new Error(`session cookie not Secure+HttpOnly: ${JSON.stringify(cookie)}`);
  ok('paired through the hub; the session cookie is the __Host- one, Secure and HttpOnly');

  if (args.repo) {
    await page.getByRole('button', { name: 'Add project' }).click();
    await page.locator('input[name="path"]').fill(args.repo);
    await page.locator('form button[type="submit"]', { hasText: 'Add project' }).click();
    await page.getByRole('heading', { name: 'New session' }).waitFor();
    await page.locator('textarea[name="prompt"]').fill(args.prompt);
    await page.getByRole('button', { name: 'Start session' }).click();
    await page.waitForURL(/\/s\/[^/]+$/);
    const pending = page.locator('.approval.pending');
    await pending.waitFor();
    await pending.locator('.diff').filter({ hasText: args.reply }).waitFor();
    await pending.getByRole('button', { name: 'Allow once' }).click();
    await page.locator('.tool[data-tool="Write"] .tool-state[aria-label="done"]').waitFor();
    await page.locator('[data-testid="message"]').filter({ hasText: args.reply }).first().waitFor();
    ok('a gated session through the hub: the approval card, allowed once, the write done and the reply shown');
    await page.goto(origin + '/');
    await page.getByRole('button', { name: 'Add project' }).waitFor();
  }

  const state = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state);
  if (state !== 'activated') throw new Error(`service worker state: ${state}`);
  await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.getByRole('button', { name: 'Add project' }).waitFor();
  ok('the service worker is active and controls the page after a reload');

  // Offline: the shell still loads from the service worker.
  await context.setOffline(true);
  await page.reload();
  await page.locator('.offline').waitFor();
  ok('offline, the shell loads from the service worker');
} catch (e) {
  exitCode = 1;
  console.error(`FAILED: ${e.stack ?? e}`);
  const shown = await page.locator('body').innerText({ timeout: 2000 }).catch(() => '(page text unavailable)');
  console.error(`  the page showed:\n  ${shown.slice(0, 2000).split('\n').join('\n  ')}`);
  await page.screenshot({ path: join(args.shots, 'hub-failure.png'), fullPage: true }).catch(() => {});
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(exitCode);
