// Chat bridges on the phone (issue #17), in Debian's Chromium at 390x844 against the real server: Devices shows a
// person linked through Telegram (platform, user id) and the bridge (connected); the group the person wrote in is bound
// to a project from here, then Unbind releases it. Started by tests/PocketCoder.Tests/Browser/BridgesBrowserTests.cs,
// which links the person and has them write in the group first.
//
//   node e2e/bridges.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { ok, runPhoneScript, smallTargets } from './phone.mjs';

await runPhoneScript('bridges', 'Bridges phone', async ({ page, base, shots }) => {
  await page.goto(`${base}/devices`);
  const person = page.locator('[data-device="Telegram @alice"]');
  await person.getByText('Linked via telegram as @alice · user 111').waitFor();
  ok('a person linked through Telegram is a device, with the platform and their user id');

  const bridge = page.locator('[data-bridge="telegram"]');
  await bridge.getByText('Connected').waitFor();
  await bridge.getByText('No chat is bound yet').waitFor();
  const unbound = bridge.locator('[data-unbound-chat="Team chat"]');
  await unbound.getByText('@alice wrote').waitFor();
  await page.screenshot({ path: shots('bridges-00-to-bind.png'), fullPage: true });
  await unbound.getByRole('combobox', { name: 'Project for Team chat' }).selectOption({ label: 'website' });
  await unbound.getByRole('button', { name: 'Bind' }).click();
  const chat = bridge.locator('[data-chat="Team chat"]');
  await chat.getByText('website').waitFor();
  await chat.getByText('bound by Bridges phone').waitFor();
  await unbound.waitFor({ state: 'detached' });
  ok('the group the person wrote in is bound to a project from the phone');
  const { bad } = await smallTargets(page);
  if (bad.length) throw new Error(`controls under 44x44 on Devices: ${bad.join('; ')}`);
  await page.screenshot({ path: shots('bridges-01-devices.png'), fullPage: true });
  ok('the bridge shows connected, with the chat it steers and the project');

  await chat.getByRole('button', { name: 'Unbind' }).click();
  await chat.waitFor({ state: 'detached' });
  await bridge.getByText('No chat is bound yet').waitFor();
  ok('Unbind releases the chat');
});
