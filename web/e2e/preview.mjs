// Live preview on the phone: a dev server the agent started in its sandbox (an allowed command) is listed in the session's
// Preview panel with its process; Open shows it in a new tab on the preview origin (another port, never the app's), where its
// websocket message (a hot reload's) arrives; script on that page cannot read the app's cookie or use the app's API; the open
// preview is closed from the phone, and one opened again ends with the session.
// Started by tests/PocketCoder.Tests/Browser/PreviewBrowserTests.cs.
//
//   node e2e/preview.mjs --url URL --code PAIRCODE --repo DIR --port PORT [--shots DIR] [--spki PINS]
//
// Through a hub (tests/PocketCoder.Tests/Reach/HubPreviewTests.cs): --url is the machine's hub name and --spki the base64
// SHA-256 pins of its certificates (the app's and the preview name's, comma-separated); the app's name and its preview name
// (preview.<app's name>) are mapped to the hub on loopback, as a phone's DNS and CA would have them. The preview must then
// open on that preview name, in a secure context, under the same checks.
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { ok, runPhoneScript } from './phone.mjs';

await runPhoneScript('preview', 'Preview phone', async ({ page, base, projectId, args, shots, context }) => {
  const port = Number(args.port);
  await page.goto(`${base}/p/${projectId}/new`);
  await page.locator('textarea[name="prompt"]').fill('Start the dev server');
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  const command = page.locator('.approval.pending').filter({ hasText: 'Wants to run a command' });
  await command.getByRole('button', { name: 'Allow once' }).click();
  await page.getByText('The dev server runs on port 5173.').waitFor();

  // Found, not typed: the panel lists the port with the process that opened it (asked again until the server is up).
  const panel = page.locator('[data-testid="preview"]');
  await panel.locator('summary').click();
  const row = panel.locator(`[data-testid="preview-port"][data-port="${port}"]`);
  for (let tries = 0; !(await row.isVisible()) && tries < 60; tries++) {
    await panel.getByRole('button', { name: 'Look again' }).click();
    await page.waitForTimeout(500);
  }
  await row.getByText('node devserver.js').waitFor();
  await page.screenshot({ path: shots('preview-01-ports.png'), fullPage: true });
  ok('the Preview panel lists the port the sandboxed dev server listens on, with its process');

  const open = async () => {
    const [tab, answer] = await Promise.all([context.waitForEvent('page'), page.waitForResponse((r) => r.url().endsWith('/previews') && r.request().method() === 'POST'),
      row.getByRole('button', { name: `Open port ${port}` }).click()]);
    if (!answer.ok()) throw new Error(`opening the preview: ${answer.status()}`);
    try {
      await tab.locator('#ws', { hasText: 'hot reload: app.js changed' }).waitFor({ timeout: 30_000 });
    } catch (e) {
      throw new Error(`the preview tab at ${tab.url()} showed: ${(await tab.content()).slice(0, 600)}\n${e}`);
    }
    return tab;
  };
  const tab = await open();
  const app = new URL(base);
  const preview = new URL(tab.url());
  // Direct: the app's host on another port. Through a hub: a name of its own on the hub's port (the hub carries one port).
  const expected = args.spki ? `preview.${app.hostname}` : app.hostname;
  if (preview.origin === app.origin || preview.hostname !== expected) throw new Error(`the preview is not on an origin of its own: ${preview.origin}`);
  if (args.spki && (preview.port !== app.port || !(await tab.evaluate(() => window.isSecureContext)))) {
    throw new Error(`the preview through the hub is not on the hub's port in a secure context: ${preview.origin}`);
  }
  if (preview.search.includes('code=')) throw new Error(`the one-time code stayed in the address: ${tab.url()}`);
  await tab.screenshot({ path: shots('preview-02-page.png') });
  ok(`the preview opens in a new tab on ${preview.origin} (the app is on ${app.origin}), and its websocket message arrives`);

  // What a page the agent wrote can do: nothing with the app.
  const tried = await tab.evaluate(async (appOrigin) => {
    const read = await fetch(`${appOrigin}/api/sessions`, { credentials: 'include' }).then((r) => `read ${r.status}`, () => 'refused');
    await fetch(`${appOrigin}/api/projects`, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': 'text/plain' }, body: '{"path":"/tmp"}' }).catch(() => {});
    const sent = await fetch('/cookies').then((r) => r.text());
    // Sending what it read anywhere but its own origin (the browser has the network the sandbox lacks): the preview's
    // policy stops the request before it leaves.
    const blocked = await new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective), { once: true });
      navigator.sendBeacon(`${appOrigin}/elsewhere`, 'read from the sandbox');
      setTimeout(() => resolve('sent'), 5_000);
    });
    return { read, cookie: document.cookie, storage: localStorage.length, sent, blocked };
  }, app.origin);
  if (tried.blocked !== 'connect-src') throw new Error(`the preview page could send to another origin: ${tried.blocked}`);
  if (tried.read !== 'refused') throw new Error(`the preview page read the app's API: ${tried.read}`);
  if (tried.cookie.includes('pocketcoder') || tried.storage !== 0) throw new Error(`the preview page sees PocketCoder's cookie or storage: ${JSON.stringify(tried)}`);
  if (tried.sent.includes('pocketcoder')) throw new Error(`the dev server was sent PocketCoder's cookies: ${tried.sent}`);
  const projects = await page.evaluate(() => fetch('/api/projects').then((r) => r.json()));
  if (projects.length !== 1) throw new Error(`a write from the preview page reached the app: ${projects.length} projects`);
  ok('script on the preview cannot read the app\'s API, its cookie or storage, nor send to another origin; its write is refused; the dev server never sees PocketCoder\'s cookies');

  // Closed from the phone: the tab has nothing more.
  const listed = panel.locator(`[data-testid="preview-open"][data-port="${port}"]`);
  await listed.waitFor();
  await listed.getByRole('button', { name: `Close preview of port ${port}` }).click();
  await listed.waitFor({ state: 'detached' });
  await tab.reload();
  await tab.getByText('PREVIEW_NOT_OPEN').waitFor();
  ok('the open preview is listed and closed from the phone; the tab then gets nothing');

  // Opened again, it ends with the session.
  const again = await open();
  await page.getByRole('button', { name: 'Session actions' }).click();
  await page.getByRole('button', { name: 'Stop session…' }).click();
  await page.getByRole('button', { name: 'Stop session', exact: true }).click();
  let text = '';
  for (let tries = 0; !/PREVIEW_(NOT_OPEN|ENDED)/.test(text) && tries < 60; tries++) {
    await again.waitForTimeout(500);
    await again.reload();
    text = await again.locator('body').innerText();
  }
  if (!/PREVIEW_(NOT_OPEN|ENDED)/.test(text)) throw new Error(`the preview outlived its session: ${text.slice(0, 200)}`);
  await again.screenshot({ path: shots('preview-03-ended.png') });
  ok('a preview ends with its session');
}, { port: { type: 'string' }, spki: { type: 'string', default: '' } }, (args) => {
  if (!args.spki) return [];
  const host = new URL(args.url).hostname;
  return [`--host-resolver-rules=MAP ${host} 127.0.0.1, MAP preview.${host} 127.0.0.1`, `--ignore-certificate-errors-spki-list=${args.spki}`];
});
