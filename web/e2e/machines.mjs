// One inbox across machines (issue #54), in Debian's Chromium at 390x844 against two real servers (two data folders, two
// ports) driving the real Claude Code: the phone, paired with machine A (the app's own), adds machine B from Machines with
// B's pairing link (a cross-origin pairing: B answers with a token, records A's origin, and lets only that origin call it).
// A call on each machine waits in one inbox, each with its machine's badge; allowing each reaches the agent on its own
// machine. Revoking the phone on B signs it out there only (A stays paired); B added again with a new code comes back;
// stopping B shows it offline while a new call on A is still decided; removed, it leaves the app. Started by
// tests/PocketCoder.Tests/Browser/MachinesBrowserTests.cs.
//
//   node e2e/machines.mjs --url URL --code PAIRCODE --repo DIR --machine-b FILE [--shots DIR]
//
// FILE (written by the test): {url (B's address as the phone reaches it), codes: [two pairing codes of B], token (a device
// of B for this script's own calls), projectId (a project on B), stopFile (created to ask the test to stop B), hub (when B
// is behind a hub: {spki, ca})}. Prints "ok - <step>"; exits 0, or 1.
//
// B behind a hub (`hub` given): url is B's hub name, https://<machine>.hub.test:<hub port>, which Chromium maps to the hub
// on loopback (--host-resolver-rules) and whose certificate, B's own (TLS ends on B, not the hub), it trusts by its public
// key (--ignore-certificate-errors-spki-list), as hub.mjs does. This script's own calls to B go the same way, through the
// hub (Node trusting the test's CA): what it checks of B (its devices, its CORS for A's origin) is what B answers at the
// address the phone uses, and stopping B is seen at that address too, where the hub stays up.

import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { controlAudit, ok, runPhoneScript } from './phone.mjs';

const machineB = (args) => JSON.parse(readFileSync(args['machine-b'], 'utf8'));

/** Chromium's flags for B's address: none when direct; behind a hub, its name mapped to loopback and B's key pinned. */
const chromiumArgs = (args) => {
  const b = machineB(args);
  return b.hub ? [`--host-resolver-rules=MAP ${new URL(b.url).hostname} 127.0.0.1`, `--ignore-certificate-errors-spki-list=${b.hub.spki}`] : [];
};

await runPhoneScript('machines', 'Machines phone', async ({ page, base, projectId, shots, args }) => {
  const b = machineB(args);
  const toB = b.hub ? throughHub(b) : direct(b);
  const { measure, offenders } = controlAudit();
  const onA = (method, path, body) => page.evaluate(async ({ method, path, body }) => {
    const r = await fetch(path, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  }, { method, path, body });
  // This script's own calls to B, as its laptop (not the phone): starting a session there, reading what was decided.
  const onB = async (method, path, body) => {
    const r = await toB(method, path, { 'content-type': 'application/json', authorization: `Bearer ${b.token}` }, body ? JSON.stringify(body) : undefined);
    return { status: r.status, body: r.status === 204 ? null : JSON.parse(r.text) };
  };

  // Machines: B added with its pairing link, named "Desktop".
  await page.goto(`${base}/machines`);
  await addMachine(page, `${b.url}/#pair=${b.codes[0]}`);
  const row = page.locator('[data-testid="machine-row"]');
  await row.locator('[data-testid="machine-badge"][data-machine="Desktop"]').waitFor();
  await until(async () => !(await row.locator('.machine-state').count()), 'Desktop online');
  const kept = await page.evaluate(() => JSON.parse(localStorage.getItem('pocketcoder.machines.v1')));
  if (kept.length !== 1 || kept[0].origin !== new URL(b.url).origin) throw new Error(`machines kept: ${JSON.stringify(kept.map((m) => m.origin))}`);
  const onBDevices = (await onB('GET', '/api/devices')).body;
  const phoneOnB = onBDevices.find((d) => d.id === kept[0].deviceId);
  if (!phoneOnB || phoneOnB.appOrigin !== base) throw new Error(`B's device for the phone: ${JSON.stringify(phoneOnB)}`);
  await page.screenshot({ path: shots('machines-01-added.png'), fullPage: true });
  await measure(page, 'Machines at 390x844');
  ok('B added from the app with its pairing link: B holds a device for the phone, paired from A\'s origin');

  // A call on each machine, one at a time (the fake model answers in this order).
  const startA = await onA('POST', `/api/projects/${projectId}/sessions`, { agent: 'claude-code', mode: 'ask', prompt: 'Write a.txt' });
  if (startA.status !== 201 && startA.status !== 200) throw new Error(`starting on A answered ${startA.status}`);
  await until(async () => (await onA('GET', '/api/approvals?status=pending')).body.length === 1, 'the call on A asked');
  // B's session is started from the app, on B (its project listed under B's badge on Home).
  await page.goto(`${base}/`);
  await page.locator('[data-testid="machine-card"][data-machine="Desktop"] a', { hasText: 'Session in' }).click();
  await page.waitForURL(/\/m\/[^/]+\/p\/[^/]+\/new$/);
  const startForm = page.getByRole('form', { name: 'Start a session' });
  await startForm.locator('select[name="agent"] option[value="claude-code"]').waitFor({ state: 'attached' });
  await startForm.locator('textarea[name="prompt"]').fill('Write b.txt');
  await startForm.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/m\/[^/]+\/s\/[^/]+$/);
  const startB = { body: { id: page.url().split('/').pop() } };
  await until(async () => (await onB('GET', '/api/approvals?status=pending')).body.length === 1, 'the call on B asked');
  const sessionOnB = (await onB('GET', `/api/sessions/${startB.body.id}`)).body;
  if (sessionOnB.projectId !== b.projectId) throw new Error(`the session started from the app is not on B's project: ${JSON.stringify(sessionOnB)}`);
  ok('a session started from the app in B\'s project runs on B');
  const callA = (await onA('GET', '/api/approvals?status=pending')).body[0];
  const callB = (await onB('GET', '/api/approvals?status=pending')).body[0];

  // One inbox: the badge counts both machines' calls, and the inbox holds both, each with its machine's badge.
  await page.goto(`${base}/`);
  await page.locator('.pending-badge[data-pending="2"]').click();
  await page.waitForURL(/\/inbox$/);
  const needs = page.locator('[data-testid="needs-you"]');
  const itemA = needs.locator(`.inbox-item[data-approval="${callA.id}"][data-machine="home"]`);
  const itemB = needs.locator(`.inbox-item[data-approval="${callB.id}"][data-machine="Desktop"]`);
  await itemA.locator('[data-machine="This machine"]').waitFor();
  await itemB.locator('[data-machine="Desktop"]').waitFor();
  await page.screenshot({ path: shots('machines-02-inbox.png'), fullPage: true });
  await measure(page, 'Inbox of two machines at 390x844');
  ok('one inbox holds the call on A and the call on B, each with its machine\'s badge');

  // Allowing each reaches its own machine's agent.
  await itemB.getByRole('button', { name: 'Allow once' }).click();
  await itemB.waitFor({ state: 'detached' });
  const decidedB = (await onB('GET', `/api/approvals/${callB.id}`)).body;
  if (decidedB.decision !== 'allow_once' || decidedB.decidedBy !== phoneOnB.name) throw new Error(`B's call after the allow: ${JSON.stringify(decidedB)}`);
  await until(async () => (await onB('GET', '/api/sessions')).body.every((s) => s.status === 'idle'), 'B\'s turn ended');
  await itemA.getByRole('button', { name: 'Allow once' }).click();
  await itemA.waitFor({ state: 'detached' });
  const decidedA = (await onA('GET', `/api/approvals/${callA.id}`)).body;
  if (decidedA.decision !== 'allow_once' || decidedA.decidedBy !== 'Machines phone') throw new Error(`A's call after the allow: ${JSON.stringify(decidedA)}`);
  await until(async () => (await onA('GET', '/api/sessions')).body.every((s) => s.status === 'idle'), 'A\'s turn ended');
  ok('allowed in the inbox, B\'s call was decided on B by the phone\'s device there, A\'s on A; both agents ran on');

  // Home and All sessions: both machines' sessions, B's under its badge.
  await page.goto(`${base}/`);
  const card = page.locator('[data-testid="machine-card"][data-machine="Desktop"]');
  await card.locator(`.session-row[data-session="${startB.body.id}"]`).waitFor();
  await page.locator(`.session-row`, { hasText: 'Write a.txt' }).first().waitFor();
  await measure(page, 'Home with two machines at 390x844');
  await page.goto(`${base}/sessions`);
  await page.locator(`[aria-label="Sessions on Desktop"] .session-row[data-session="${startB.body.id}"] [data-machine="Desktop"]`).waitFor();
  ok('Home and All sessions list both machines\' sessions, B\'s with its badge');

  // Steering B's session from the app: a message goes to B's agent.
  await page.locator(`[aria-label="Sessions on Desktop"] .session-row[data-session="${startB.body.id}"]`).click();
  const composer = page.getByRole('form', { name: 'Message the agent' });
  await composer.locator('textarea[name="message"]').fill('Thanks, that is all');
  await composer.getByRole('button', { name: 'Send' }).click();
  await until(async () => {
    const events = (await onB('GET', `/api/sessions/${startB.body.id}/events/page`)).body.events;
    return events.some((e) => e.kind === 'message.user' && JSON.stringify(e.data).includes('Thanks, that is all'))
      && events.some((e) => e.kind === 'message' && JSON.stringify(e.data).includes('welcome'))
      && (await onB('GET', `/api/sessions/${startB.body.id}`)).body.status === 'idle';
  }, 'the message reached B\'s agent and its turn ended');
  await measure(page, 'Session on another machine at 390x844');
  ok('a message sent from the app reached the agent on B, and its turn ended there');

  // Revoked on B: signed out there only; A is untouched.
  const revoked = await onB('DELETE', `/api/devices/${phoneOnB.id}`);
  if (revoked.status !== 204) throw new Error(`revoking on B answered ${revoked.status}`);
  await page.goto(`${base}/`);
  await page.locator('[data-testid="machine-card"][data-machine="Desktop"][data-status="revoked"]').waitFor();
  if ((await onA('GET', '/api/sessions')).status !== 200) throw new Error('A refused the phone after B revoked it');
  const preflight = await toB('OPTIONS', '/api/sessions', { origin: base, 'access-control-request-method': 'GET' });
  if (preflight.status !== 403 || preflight.headers['access-control-allow-origin']) throw new Error(`B still lets A's origin in: ${preflight.status}`);
  await page.locator('.project[data-project]').first().waitFor();
  ok('revoked on B: B shows the phone signed out, B no longer answers A\'s origin; A still answers the phone');

  // Added again with a new code, then B stops: offline, and A goes on.
  await page.goto(`${base}/machines`);
  await addMachine(page, `${b.url}/#pair=${b.codes[1]}`);
  await until(async () => (await row.count()) === 1 && !(await row.locator('.machine-state').count()), 'Desktop online again');
  writeFileSync(b.stopFile, 'stop');
  await page.goto(`${base}/`);
  await page.locator('[data-testid="machine-card"][data-machine="Desktop"][data-status="offline"]').waitFor({ timeout: 60_000 });
  const again = await onA('POST', `/api/projects/${projectId}/sessions`, { agent: 'claude-code', mode: 'ask', prompt: 'Write again.txt' });
  if (again.status !== 201 && again.status !== 200) throw new Error(`starting again on A answered ${again.status}`);
  await until(async () => (await onA('GET', '/api/approvals?status=pending')).body.length === 1, 'the second call on A asked');
  const callA2 = (await onA('GET', '/api/approvals?status=pending')).body[0];
  await page.goto(`${base}/inbox`);
  await page.locator('[data-testid="machine-away"] [data-machine="Desktop"]').waitFor();
  const itemA2 = page.locator(`.inbox-item[data-approval="${callA2.id}"]`);
  await itemA2.getByRole('button', { name: 'Allow once' }).click();
  await itemA2.waitFor({ state: 'detached' });
  await until(async () => (await onA('GET', '/api/sessions')).body.every((s) => s.status === 'idle'), 'A\'s second turn ended');
  await page.screenshot({ path: shots('machines-03-offline.png'), fullPage: true });
  await measure(page, 'Inbox with a machine offline at 390x844');
  ok('added again with a new code it came back; stopped, B shows offline while a new call on A is still decided');

  // Removed from the app: its token forgotten here, its badge gone; A untouched.
  await page.goto(`${base}/machines`);
  await page.getByRole('button', { name: 'Remove Desktop' }).click();
  await row.waitFor({ state: 'detached' });
  if ((await page.evaluate(() => localStorage.getItem('pocketcoder.machines.v1'))) !== '[]') throw new Error('the removed machine\'s token is still kept');
  await page.goto(`${base}/`);
  await page.locator('.project[data-project]').first().waitFor();
  if (await page.locator('[data-testid="machine-card"]').count()) throw new Error('the removed machine is still on Home');
  await measure(page, 'Home after removing a machine at 390x844');
  if (offenders.length) throw new Error(`controls: ${offenders.join('; ')}`);
  ok('removed, B leaves the app and its token is forgotten; A goes on');
}, { 'machine-b': { type: 'string' } }, chromiumArgs);

/** B at its own address: {status, headers (lower-case names), text}. */
function direct(b) {
  return async (method, path, headers, body) => {
    const r = await fetch(`${b.url}${path}`, { method, headers, body });
    return { status: r.status, headers: Object.fromEntries(r.headers), text: await r.text() };
  };
}

/** B through the hub: a TLS connection to the hub's port on loopback naming B (SNI), ended by B, checked against the CA. */
function throughHub(b) {
  const url = new URL(b.url);
  const agent = new Agent({ keepAlive: true, ca: b.hub.ca, servername: url.hostname });
  return (method, path, headers, body) => new Promise((resolve, reject) => {
    const sent = request({ host: '127.0.0.1', port: url.port, servername: url.hostname, agent, method, path, headers: { host: url.host, ...headers } }, (r) => {
      const chunks = [];
      r.on('data', (chunk) => chunks.push(chunk));
      r.on('end', () => resolve({ status: r.statusCode, headers: r.headers, text: Buffer.concat(chunks).toString('utf8') }));
      r.on('error', reject);
    });
    sent.on('error', reject);
    sent.end(body);
  });
}

async function addMachine(page, link) {
  const form = page.getByRole('form', { name: 'Add a machine' });
  await form.locator('input[name="link"]').fill(link);
  await form.locator('input[name="name"]').fill('Desktop');
  await form.getByRole('button', { name: 'Add machine' }).click();
  // Cleared once paired (a refusal stays, with the machine's words under it).
  await page.waitForFunction(() => document.querySelector('form[aria-label="Add a machine"] input[name="link"]')?.value === '');
}

/** Asks `check` every quarter second until it holds (the servers' answers have no event to wait on here), at most a minute. */
async function until(check, what) {
  for (let i = 0; i < 240; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`waited a minute for: ${what}`);
}
