// The phone app in a real browser (Debian's Chromium, driven by playwright-core) against a real PocketCoder
// server running the real Claude Code CLI on a scripted fake model. Started by the xunit test
// tests/PocketCoder.Tests/Browser/PhoneAppBrowserTests.cs, which starts the server and scripts the model.
//
//   node e2e/run.mjs --url URL --code PAIRCODE --repo DIR --shots DIR
//   env POCKETCODER_LAPTOP_TOKEN: a second device's token, used to talk while the phone is offline.
//
// Prints "ok - <step>" per step and exits 0, or prints the failure and exits 1 (with failure.png saved).

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchPhone, openSessionOptions } from './phone.mjs';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    code: { type: 'string' },
    repo: { type: 'string' },
    shots: { type: 'string', default: 'test-results' },
    chromium: { type: 'string', default: process.env.POCKETCODER_CHROMIUM || '/usr/bin/chromium' },
  },
});
const base = args.url.replace(/\/$/, '');
const laptopToken = process.env.POCKETCODER_LAPTOP_TOKEN;
if (!args.url || !args.code || !args.repo || !laptopToken) {
  console.error('usage: node e2e/run.mjs --url URL --code CODE --repo DIR [--shots DIR]; env POCKETCODER_LAPTOP_TOKEN');
  process.exit(2);
}
mkdirSync(args.shots, { recursive: true });

const WAIT = 60_000;
let steps = 0;
const ok = (what) => {
  steps++;
  console.log(`ok - ${what}`);
};

/** The laptop: a second paired device talking to the API directly (node's network is never "offline"). */
async function laptop(method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${laptopToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 || response.status === 202 ? null : response.json();
}

/** Every event of a session up to now, read from the SSE stream until `until` matches (or the stream idles). */
async function sessionEvents(sessionId, { after = 0, until } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), WAIT);
  const response = await fetch(`${base}/api/sessions/${sessionId}/events?after=${after}`, {
    headers: { authorization: `Bearer ${laptopToken}`, accept: 'text/event-stream' },
    signal: controller.signal,
  });
  const events = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const kind = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (!kind || !data) continue;
        const event = { kind, data: JSON.parse(data) };
        events.push(event);
        if (until?.(event)) return events;
      }
    }
  } catch (e) {
    if (!until && e.name === 'AbortError') return events;
    throw e;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

const profile = mkdtempSync(join(tmpdir(), 'pc-chromium-'));
// A fresh, empty profile each run (playwright passes it as --user-data-dir).
const context = await launchPhone({ executablePath: args.chromium, profile });
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(WAIT);
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
// Requests still open when a step fails say what the app was waiting for.
const inFlight = new Map();
context.on('request', (r) => inFlight.set(r, Date.now()));
context.on('requestfinished', (r) => inFlight.delete(r));
context.on('requestfailed', (r) => inFlight.delete(r));
const failedResponses = [];
context.on('response', async (r) => {
  if (r.status() >= 400) failedResponses.push(`${r.status()} ${r.request().method()} ${r.url()} ${await r.text().catch(() => '')}`);
});

const shot = async (name, options = {}) => {
  await page.waitForTimeout(150); // let a transition settle; nothing is awaited on it
  await page.screenshot({ path: join(args.shots, `${name}.png`), ...options });
};
const messages = () => page.locator('[data-testid="message"]');
const expectText = async (locator, text) => {
  await locator.filter({ hasText: text }).first().waitFor();
};

let exitCode = 0;
try {
  // 1. Pair through the link the CLI prints: the code arrives in the fragment and is filled in.
  await page.goto(`${base}/#pair=${args.code}`);
  const codeInput = page.locator('input[name="code"]');
  await codeInput.waitFor();
  const filled = await codeInput.inputValue();
  if (filled.replace('-', '') !== args.code.replace('-', '').toUpperCase()) throw new Error(`pair code not filled from the link: "${filled}"`);
  if (new URL(page.url()).hash) throw new Error(`the pairing code stayed in the address bar: ${page.url()}`);
  await page.locator('input[name="deviceName"]').fill('Test phone');
  await shot('01-pair');
  await page.getByRole('button', { name: 'Pair', exact: true }).click();
  await page.getByRole('button', { name: 'Add project' }).waitFor();
  const cookies = await context.cookies();
  const cookie = cookies.find((c) => c.name === 'pocketcoder_session');
  if (!cookie?.httpOnly || cookie.sameSite !== 'Strict') throw new Error(`session cookie not HttpOnly+Strict: ${JSON.stringify(cookie)}`);
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  if (stored.includes('pc_')) throw new Error('a device token was written to web storage');
  ok('paired through the UI; HttpOnly SameSite=Strict cookie, no token in storage or URL');
  await shot('02-home-empty');

  // 2. Add the project by path; the app goes on to start a session in it.
  await page.getByRole('button', { name: 'Add project' }).click();
  await page.locator('input[name="path"]').fill(args.repo);
  await page.locator('form button[type="submit"]', { hasText: 'Add project' }).click();
  await page.getByRole('heading', { name: 'New session' }).waitFor();
  await openSessionOptions(page);
  await page.locator('.choice', { hasText: 'Claude Code' }).locator('input:checked').waitFor();
  await page.locator('textarea[name="prompt"]').fill('Create hello.txt with a greeting');
  await shot('03-new-session');
  ok('added the project; Claude Code is offered as available');
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  const sessionId = new URL(page.url()).pathname.split('/').pop();

  // 3. The approval card shows exactly what will be written, then Allow once lets it run.
  const pending = page.locator('.approval.pending');
  await pending.waitFor();
  await expectText(pending, 'Wants to write a file');
  await expectText(pending.locator('.diff'), 'Hello from the phone');
  await expectText(pending.locator('.diff-path'), 'hello.txt');
  await shot('04-approval');
  ok('approval card shows the file and its content as a diff');
  await pending.getByRole('button', { name: 'Allow once' }).click();
  const allowed = page.locator('.tool[data-tool="Write"] .decision[data-decision="allow_once"]');
  await allowed.waitFor();
  await expectText(allowed, 'by Test phone');
  const write = page.locator('.tool[data-tool="Write"]');
  await write.locator('.tool-state[aria-label="done"]').waitFor();
  await expectText(messages(), 'Created hello.txt.');
  await write.locator('.tool-head').click();
  await write.locator('.result').waitFor();
  ok('allowed once: the decided card names the device, the tool result arrived');
  await shot('05-session-allowed', { fullPage: true });

  // 4. A second turn from the composer; deny its command with a message.
  await page.locator('textarea[aria-label="Message"]').fill('Now delete it');
  await page.getByRole('button', { name: 'Send' }).click();
  await expectText(messages(), 'Now delete it');
  const second = page.locator('.approval.pending');
  await second.waitFor();
  await expectText(second, 'Wants to run a command');
  await expectText(second.locator('pre.code'), 'rm hello.txt');
  await second.getByRole('button', { name: 'Deny…' }).click();
  await second.locator('textarea').fill('Keep the file, please.');
  await shot('06-deny');
  await second.getByRole('button', { name: 'Deny', exact: true }).click();
  const denied = page.locator('.tool[data-tool="Bash"] .decision[data-decision="deny"]');
  await denied.waitFor();
  await expectText(denied, 'Keep the file, please.');
  await expectText(messages(), 'I left hello.txt in place.');
  ok('denied with a message: the card shows it, the agent answered');

  // 5. Offline and back: what happened meanwhile shows once, nothing missing, nothing doubled.
  await page.locator('.working').waitFor({ state: 'detached' });
  const before = await messages().count();
  const lastSeq = Number(await page.locator('main[data-last-seq]').getAttribute('data-last-seq'));
  await context.setOffline(true);
  await page.locator('.offline').waitFor();
  const done = sessionEvents(sessionId, { after: lastSeq, until: (e) => e.kind === 'turn.completed' });
  await laptop('POST', `/api/sessions/${sessionId}/messages`, { text: 'Is it still there?' });
  await done; // the whole turn happened while the phone was offline
  await shot('07-offline-live');
  await context.setOffline(false);
  await expectText(messages(), 'Yes, hello.txt is still there.');
  await page.locator('.offline').waitFor({ state: 'detached' });
  const all = await sessionEvents(sessionId, { until: (e) => e.kind === 'turn.completed' && e.data.seq > lastSeq });
  const expected = all.filter((e) => e.kind === 'message.user' || e.kind === 'message').length;
  const after = await messages().count();
  const texts = await messages().allInnerTexts();
  if (after !== expected || after !== before + 2) {
    throw new Error(`transcript has ${after} messages (had ${before}); the server logged ${expected}:\n${texts.join('\n---\n')}`);
  }
  const seqs = await page.locator('.transcript > li').evaluateAll((items) => items.map((i) => Number(i.dataset.seq)));
  if (new Set(seqs).size !== seqs.length) throw new Error(`a transcript item shows twice: seqs ${seqs.join(',')}`);
  if (texts.filter((t) => t.includes('Is it still there?')).length !== 1) throw new Error('the message sent while offline is missing or doubled');
  ok(`offline and back: ${after} messages, exactly the ${expected} the server logged`);
  await shot('08-session-after-offline');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('09-session-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // 6. Home: the project, its session and its live status.
  await page.getByRole('button', { name: 'Back' }).click();
  await page.locator('.session-row .badge[data-status="idle"]').first().waitFor();
  await shot('10-home');
  ok('home lists the session with its status');

  // 7. Workspace: the file the agent wrote in the viewer; stage and commit it; run a command; the terminal.
  const projectTool = (name) => page.locator('.chip-btn', { hasText: name }).first();
  await projectTool('Files').click();
  await page.locator('.file-row[data-path="hello.txt"]').waitFor();
  await shot('11-files');
  await page.locator('.file-row[data-path="hello.txt"]').click();
  await expectText(page.locator('[data-testid="file-content"]'), 'Hello from the phone');
  await shot('12-file-viewer');
  ok('file tree lists hello.txt and the viewer shows what the agent wrote');

  await page.goto(`${base}/`);
  await projectTool('Git').click();
  const row = page.locator('.git-row[data-path="hello.txt"]');
  await row.waitFor();
  await row.getByRole('button', { name: 'Stage' }).click();
  await page.locator('.git-row[data-path="hello.txt"]', { hasText: 'added' }).getByRole('button', { name: 'Unstage' }).waitFor();
  await page.locator('.commit textarea').fill('Add hello.txt from the phone');
  await shot('13-git');
  await page.locator('.commit button[type="submit"]').click();
  await expectText(page.locator('.ok-note'), 'Committed');
  await page.locator('.empty', { hasText: 'clean' }).waitFor();
  ok('git: staged and committed the new file');

  await page.goto(`${base}/`);
  await projectTool('Run').click();
  await page.locator('input[aria-label="Command"]').fill('cat hello.txt && git log --oneline | head -1');
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await expectText(page.locator('[data-testid="exit"]'), 'exit 0');
  await expectText(page.locator('[data-testid="command-output"]'), 'Hello from the phone');
  await expectText(page.locator('[data-testid="command-output"]'), 'Add hello.txt from the phone');
  await shot('14-run');
  ok('ran a command with live output and its exit code');

  await page.goto(`${base}/`);
  await projectTool('Terminal').click();
  await page.locator('[data-testid="terminal-screen"]').waitFor();
  await page.locator('input[aria-label="Terminal input"]').fill('echo hi-from-the-$((6*7))-terminal');
  await page.getByRole('button', { name: 'Send to terminal' }).click();
  await expectText(page.locator('[data-testid="terminal-screen"]'), 'hi-from-the-42-terminal');
  await shot('15-terminal');
  ok('terminal: typed a command and saw its output on the screen');

  // 8. Devices: both devices, this one marked; rules (empty) reachable.
  await page.goto(`${base}/devices`);
  await page.locator('.device[data-device="Test phone"]', { hasText: 'This device' }).waitFor();
  await page.locator('.device[data-device="laptop"]').waitFor();
  await shot('16-devices');
  ok('devices lists this phone (marked) and the laptop');

  // 9. Reload with no network: the service worker serves the shell, and it says it is offline.
  await page.goto(`${base}/`);
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await context.setOffline(true);
  await page.reload();
  await page.locator('.offline').waitFor();
  await page.locator('.project').first().waitFor();
  await shot('17-offline-reload');
  ok('reloaded offline: the shell loads from the service worker and shows the offline banner');

  const unexpected = consoleErrors.filter((e) => !/Failed to load resource|ERR_INTERNET_DISCONNECTED|net::ERR_/.test(e));
  if (unexpected.length) throw new Error(`console errors:\n${unexpected.join('\n')}`);
  ok('no script errors in the console');
} catch (e) {
  exitCode = 1;
  console.error(`FAILED after ${steps} steps: ${e.stack ?? e}`);
  for (const [r, since] of inFlight) console.error(`  still open: ${r.method()} ${r.url()} (${Date.now() - since} ms, ${r.serviceWorker() ? 'service worker' : 'page'})`);
  for (const f of failedResponses) console.error(`  answered: ${f}`);
  if (consoleErrors.length) console.error(`  console errors:\n  ${consoleErrors.join('\n  ')}`);
  // CI keeps the log, not the screenshots: what the page showed, in words.
  const shown = await page.locator('body').innerText({ timeout: 2000 }).catch(() => '(page text unavailable)');
  console.error(`  the page showed:\n  ${shown.slice(0, 3000).split('\n').join('\n  ')}`);
  await page.screenshot({ path: join(args.shots, 'failure.png'), fullPage: true }).catch(() => {});
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(exitCode === 0 ? `e2e: ${steps} passed, 0 failed` : `e2e: ${steps} passed, 1 failed`);
process.exit(exitCode);
