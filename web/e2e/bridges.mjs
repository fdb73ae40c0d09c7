// Chat bridges on the phone (issue #17), in Debian's Chromium at 390x844 against the real server: Devices shows a
// person linked through Telegram (platform, user id) and the bridge (connected, its bound chat); Unbind releases the chat.
// Started by tests/PocketCoder.Tests/Browser/BridgesBrowserTests.cs, which links the person and binds the chat first.
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
  const chat = bridge.locator('[data-chat="Team chat"]');
  await chat.getByText('website').waitFor();
  const { bad } = await smallTargets(page);
  if (bad.length) throw new Error(`controls under 44x44 on Devices: ${bad.join('; ')}`);
  await page.screenshot({ path: shots('bridges-01-devices.png'), fullPage: true });
  ok('the bridge shows connected, with the chat it steers and the project');

  await chat.getByRole('button', { name: 'Unbind' }).click();
  await chat.waitFor({ state: 'detached' });
  await bridge.getByText('No chat is bound yet').waitFor();
  ok('Unbind releases the chat');
});
