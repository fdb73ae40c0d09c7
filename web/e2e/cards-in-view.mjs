// Approval cards at 360x640 whatever they hold (#67): a command raising all eight risk signs, and a network card, each
// with its Allow once whole on the screen, under the header, above the message box and on top (the element at its centre
// is the button) as the card arrives, with the card scrolled to its head, and at the page's end; Deny's own row too.
// Then the connection allowed to a host that does not answer reads "Could not connect", not "Refused", and the Mode
// select is at least 44 px tall. The server sandboxes the session with its network (proxy), as by default.
// Started by tests/PocketCoder.Tests/Browser/CardsInViewBrowserTests.cs.
//
//   node e2e/cards-in-view.mjs --url URL --code PAIRCODE --repo DIR --host HOST:PORT [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { ok, runPhoneScript } from './phone.mjs';

const EIGHT = ['Downloads and runs a script', 'Deletes files', 'Force-pushes', 'Asks for admin rights', 'Touches credentials',
  'Reaches outside the project', 'Installs packages', 'Uses the network'];

/**
 * Waits (as the card's offers arrive and the screen settles) until `button` is whole in the viewport, below the header,
 * above the message box, and is what a tap at its centre meets; fails with what was measured.
 */
async function onTopInView(page, button, where) {
  const handle = await button.elementHandle();
  // Passed to the page as source, so it closes over nothing; `report`: the measures whatever they are, for the failure.
  const measure = ([el, report]) => {
    const r = el.getBoundingClientRect();
    const composer = document.querySelector('footer.composer')?.getBoundingClientRect().top ?? innerHeight;
    const bar = document.querySelector('.appbar')?.getBoundingClientRect().bottom ?? 0;
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    const onTop = !!hit && (hit === el || el.contains(hit));
    const inside = r.width > 0 && r.left >= 0 && r.right <= innerWidth && r.top >= bar && r.bottom <= Math.min(innerHeight, composer);
    return onTop && inside && !report ? true : report && {
      onTop, inside, box: [r.left, r.top, r.right, r.bottom].map(Math.round), bar, composer, viewport: [innerWidth, innerHeight],
      hit: hit ? hit.outerHTML.slice(0, 120) : null,
    };
  };
  try {
    await page.waitForFunction(measure, [handle, false], { timeout: 5000 }).catch(async () => {
      throw new Error(`not whole on the screen and on top ${where}: ${JSON.stringify(await page.evaluate(measure, [handle, true]))}`);
    });
  } finally {
    await handle.dispose();
  }
}

/** The three ways a card is met: as it arrives (the screen follows it), scrolled to its head under the header, at the page's end. */
async function everyWay(page, card, name, label) {
  const button = card.getByRole('button', { name, exact: true });
  await button.waitFor();
  await onTopInView(page, button, `as the ${label} arrived`);
  const bar = await page.locator('.appbar').evaluate((el) => el.getBoundingClientRect().bottom);
  await card.evaluate((el, top) => window.scrollBy(0, el.getBoundingClientRect().top - top - 4), bar);
  await onTopInView(page, button, `with the ${label} scrolled to its head`);
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await onTopInView(page, button, `at the page's end under the ${label}`);
}

await runPhoneScript('cards-in-view', 'Small phone', async ({ page, base, projectId, args, shots }) => {
  await page.setViewportSize({ width: 360, height: 640 });
  await page.goto(`${base}/p/${projectId}/new`);
  await page.locator('textarea[name="prompt"]').fill('Set the machine up');
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);

  // 1. A command raising all eight signs: the tallest command card there is, the command folded under its signs.
  const risky = page.locator('.approval.pending').filter({ hasText: 'Wants to run a command' });
  await risky.waitFor();
  const signs = (await risky.locator('[data-testid="risk-signs"] li').allInnerTexts()).map((t) => t.trim());
  if (JSON.stringify(signs) !== JSON.stringify(EIGHT)) throw new Error(`the card's risk words: ${JSON.stringify(signs)}`);
  await everyWay(page, risky, 'Allow once', 'eight-sign command card');
  await onTopInView(page, risky.getByRole('button', { name: 'Deny…', exact: true }), 'beside Allow once');
  await page.screenshot({ path: shots('cards-01-eight-signs-360.png') });
  // The Mode select is a control of its own, over its label: at least 44 px like every other (it measured 42).
  const mode = await page.getByRole('combobox', { name: 'Mode' }).boundingBox();
  if (!mode || mode.height < 44 || mode.width < 44) throw new Error(`the Mode select is under 44x44: ${JSON.stringify(mode)}`);
  ok('a command with eight risk signs at 360x640: Allow once and Deny… whole on the screen and on top, however the card is met; the Mode select 44 px or more');

  // Denied with words: the Deny row of the same card stays in view too.
  await risky.getByRole('button', { name: 'Deny…', exact: true }).click();
  await risky.locator('textarea').fill('Not on this machine');
  await onTopInView(page, risky.getByRole('button', { name: 'Deny', exact: true }), 'on the deny form');
  await risky.getByRole('button', { name: 'Deny', exact: true }).click();
  await page.locator('.approval.decided[data-decision="deny"], .decision.refused').first().waitFor();
  ok('its Deny, with the reason typed, stays whole on the screen and on top');

  // 2. The next command reaches a host nobody allowed: the network card, at 360x640.
  const fetch = page.locator('.approval.pending').filter({ hasText: 'Wants to run a command' });
  await fetch.getByRole('button', { name: 'Allow once', exact: true }).click();
  const network = page.locator('.approval.pending').filter({ hasText: 'Wants to connect' });
  await network.locator('[data-testid="network-call"]').filter({ hasText: args.host }).waitFor();
  await everyWay(page, network, 'Allow once', 'network card');
  await page.screenshot({ path: shots('cards-02-network-360.png') });
  ok('a network card at 360x640: Allow once whole on the screen and on top, however the card is met');

  // 3. Allowed, but nothing answers there: the connection reads "Could not connect", told apart from a refusal.
  await network.getByRole('button', { name: 'Allow once', exact: true }).click();
  const line = page.locator('[data-testid="network"]').filter({ hasText: args.host });
  await line.waitFor();
  const summary = (await line.locator('summary').innerText()).trim();
  if (!summary.startsWith(`Could not connect: ${args.host}`)) throw new Error(`the connection reads "${summary}"`);
  await line.locator('summary').click();
  const entry = line.locator('.network-entry[data-outcome="failed"]');
  await entry.filter({ hasText: 'could not connect: ' }).waitFor();
  if (/refused/i.test(await entry.locator('strong').innerText())) throw new Error('an allowed host that did not answer reads as refused');
  await page.screenshot({ path: shots('cards-03-could-not-connect-360.png') });
  ok('the host allowed but not answering reads "Could not connect: …", not "Refused"');
}, { host: { type: 'string' } });
