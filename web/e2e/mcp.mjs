// MCP servers on the phone (issue #19), in Debian's Chromium at 390x844 against the real server and Claude Code: a server
// added in the project's settings is listed with its variables' names and never their values; the one the repository
// declares waits until the owner enables what is shown; a session's agent then calls the added server's tool, and the
// call is a card like any other.
// Started by tests/PocketCoder.Tests/Browser/McpBrowserTests.cs, which writes the repository's .mcp.json first.
//
//   node e2e/mcp.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ok, runPhoneScript, smallTargets } from './phone.mjs';

const probe = fileURLToPath(new URL('../../tests/agents/mcp-probe.mjs', import.meta.url));

await runPhoneScript('mcp', 'MCP phone', async ({ page, base, projectId, repo, shots }) => {
  await page.goto(`${base}/p/${projectId}/settings`);
  const section = page.getByRole('region', { name: 'MCP servers' });
  const declared = section.locator('[data-mcp="repo-probe"]');
  await declared.getByText('Waiting for you').waitFor();
  await declared.getByText("The repository's .mcp.json").waitFor();

  await section.getByRole('button', { name: 'Add a server' }).click();
  const form = section.getByRole('form', { name: 'New MCP server' });
  await form.locator('input[name="mcp-name"]').fill('probe');
  await form.locator('input[name="mcp-command"]').fill('node');
  await form.locator('textarea[name="mcp-args"]').fill(probe);
  await form.locator('textarea[name="mcp-env"]').fill(`PROBE_LOG=${join(repo, 'probe.log')}\nPROBE_SECRET=typed-on-the-phone`);
  await form.getByRole('button', { name: 'Add server' }).click();
  const added = section.locator('[data-mcp="probe"][data-state="enabled"]');
  await added.getByText('Variables: PROBE_LOG, PROBE_SECRET').waitFor();
  if (await page.getByText('typed-on-the-phone').count()) throw new Error('a secret was shown back');
  ok('a server added in settings is on, its variables listed by name only');

  await declared.getByRole('button', { name: 'Enable what is shown' }).click();
  await section.locator('[data-mcp="repo-probe"][data-state="enabled"]').waitFor();
  const { bad } = await smallTargets(page);
  if (bad.length) throw new Error(`controls under 44x44 in settings: ${bad.join('; ')}`);
  await page.screenshot({ path: shots('mcp-01-settings.png'), fullPage: true });
  ok("the repository's server is enabled once the owner has seen what it runs");

  await page.goto(`${base}/p/${projectId}/new`);
  await page.locator('textarea[name="prompt"]').fill('Use the probe');
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  const pending = page.locator('.approval.pending');
  await pending.getByText('probe').first().waitFor();
  await page.screenshot({ path: shots('mcp-02-card.png'), fullPage: true });
  await pending.getByRole('button', { name: 'Allow once' }).click();
  await page.locator('[data-testid="message"]').filter({ hasText: 'Probed.' }).first().waitFor();
  ok("the agent's call to the server's tool is a card; allowed, it runs");
});
