// The sandbox's network on the phone: a command's connection to a host nobody allowed is a card ("Wants to connect", the
// host and the command that asked), and the connection waits; "Always allow…" shows the rule it adds (that host and
// port, or every host of its domain), the command then gets its answer, the transcript shows the connection in a line,
// and Rules lists the network rule, which can be removed.
// Started by tests/PocketCoder.Tests/Browser/NetworkBrowserTests.cs.
//
//   node e2e/network.mjs --url URL --code PAIRCODE --repo DIR --host HOST:PORT [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { ok, runPhoneScript } from './phone.mjs';

await runPhoneScript('network', 'Network phone', async ({ page, base, projectId, args, shots }) => {
  await page.goto(`${base}/p/${projectId}/new`);
  await page.locator('textarea[name="prompt"]').fill('Fetch the page');
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);

  // The command first (a shell call, asked as always), then its connection.
  const command = page.locator('.approval.pending').filter({ hasText: 'Wants to run a command' });
  await command.getByRole('button', { name: 'Allow once' }).click();
  const card = page.locator('.approval.pending').filter({ hasText: 'Wants to connect' });
  await card.locator('[data-testid="network-call"]').filter({ hasText: args.host }).waitFor();
  await card.getByText('by curl').first().waitFor();
  await page.screenshot({ path: shots('network-01-card.png'), fullPage: true });
  ok('a connection to a host nobody allowed is a card: where it goes, and the command that opened it');

  await card.getByRole('button', { name: 'Always allow…' }).click();
  const always = card.locator('[data-testid="always-allow"]');
  await always.filter({ hasText: `allow network ${args.host}` }).waitFor();
  const domain = `*.${args.host.split(':')[0].split('.').slice(1).join('.')}`;
  await always.getByRole('button', { name: `Allow every ${domain} host` }).waitFor();
  await page.screenshot({ path: shots('network-02-always.png'), fullPage: true });
  await always.getByRole('button', { name: `Allow ${args.host}` }).click();
  const tool = page.locator('.tool[data-tool="Bash"]');
  await tool.locator('.tool-state[aria-label="done"]').waitFor();
  await tool.locator('.tool-head').click();
  await tool.locator('pre.code', { hasText: 'hello from outside' }).first().waitFor();
  ok('"Always allow…" names the rule (this host and port, or every host of its domain); allowed, the command got its answer');

  // The connection in the transcript, its details one tap away.
  const line = page.locator('[data-testid="network"]').filter({ hasText: args.host });
  await line.waitFor();
  await line.locator('summary').click();
  await line.locator('.network-entry[data-outcome="allowed"]').waitFor();
  ok('the transcript shows the connection: host, allowed, bytes, the command');

  await page.goto(`${base}/p/${projectId}/rules`);
  const rule = page.locator('.list-row').filter({ hasText: 'network — connections out of the sandbox' });
  await rule.locator('code.pattern', { hasText: args.host }).waitFor();
  await page.screenshot({ path: shots('network-03-rules.png'), fullPage: true });
  await page.getByRole('button', { name: `Remove rule network ${args.host}` }).click();
  await rule.waitFor({ state: 'detached' });
  ok('Rules lists the network rule, and it can be removed');
}, { host: { type: 'string' } });
