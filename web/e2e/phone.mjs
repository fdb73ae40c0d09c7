// The phone every browser test drives: Debian's Chromium (never a downloaded browser), headless, a fresh profile,
// a 390x844 touch screen with a mobile user agent.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

export function launchPhone({ executablePath, profile, args = [] }) {
  return chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', ...args,
    ],
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36',
    colorScheme: 'light',
  });
}

/** Every control on screen smaller than 44x44 CSS px (a radio or checkbox counts by its label; inline text links do not count). */
export const smallTargets = (page) => page.evaluate(() => {
  const bad = [];
  let measured = 0;
  for (const el of document.querySelectorAll('button, a[href], select, input:not([type="hidden"]), textarea, summary, [role="button"]')) {
    if (el.closest('.md, p, .fine, pre, .offline')) continue;
    let target = el;
    if (el.matches('input[type="radio"], input[type="checkbox"]') && el.closest('label')) target = el.closest('label');
    if (el.matches('select') && getComputedStyle(el).opacity === '0') target = el.parentElement;
    const r = target.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    measured++;
    if (r.height < 43.5 || r.width < 43.5) {
      const name = (el.getAttribute('aria-label') || el.textContent || el.getAttribute('name') || '').trim().slice(0, 30);
      bad.push(`${el.tagName.toLowerCase()}.${String(target.className).split(' ').join('.')} "${name}" ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return { bad, measured };
});

/**
 * Every control on screen whose text does not fit it: a button or link whose content is wider than its box, a text field
 * whose placeholder is wider than the room inside it (cut off, or wrapped out of a one-line field), a select whose chosen
 * option is. An invisible control (a native picker laid over its label) counts by nothing.
 */
export const clippedControls = (page) => page.evaluate(() => {
  const bad = [];
  const context = document.createElement('canvas').getContext('2d');
  const textWidth = (text, style) => {
    context.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    return context.measureText(text).width;
  };
  let measured = 0;
  for (const el of document.querySelectorAll('button, a.btn, a.chip-btn, select, input:not([type="hidden"]):not([type="radio"]):not([type="checkbox"]):not([type="file"]), textarea')) {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if ((r.width === 0 && r.height === 0) || style.opacity === '0' || style.visibility === 'hidden') continue;
    measured++;
    const name = (el.getAttribute('aria-label') || el.textContent || el.getAttribute('placeholder') || el.getAttribute('name') || '').trim().slice(0, 30);
    const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    if (el.matches('button, a') && el.scrollWidth > el.clientWidth + 1) bad.push(`${el.tagName.toLowerCase()} "${name}": content ${el.scrollWidth}px in ${el.clientWidth}px`);
    if (el.matches('input, textarea') && el.placeholder && !el.value) {
      const wide = textWidth(el.placeholder, getComputedStyle(el, '::placeholder'));
      if (wide > room + 1) bad.push(`${el.tagName.toLowerCase()} placeholder "${el.placeholder}": ${Math.round(wide)}px in ${Math.round(room)}px`);
    }
    if (el.matches('select') && el.selectedOptions[0]) {
      // The arrow takes about 20 px of the room.
      const wide = textWidth(el.selectedOptions[0].textContent.trim(), style);
      if (wide > room - 20 + 1) bad.push(`select "${name}": "${el.selectedOptions[0].textContent.trim()}" ${Math.round(wide)}px in ${Math.round(room - 20)}px`);
    }
  }
  return { bad, measured };
});

/** Every form control (shown or laid invisibly over a label) whose text is under 16 px: iOS zooms the page when one takes focus. */
export const smallFontControls = (page) => page.evaluate(() => {
  const bad = [];
  let measured = 0;
  for (const el of document.querySelectorAll('input:not([type="hidden"]):not([type="radio"]):not([type="checkbox"]):not([type="file"]), select, textarea')) {
    if (el.getClientRects().length === 0) continue;
    measured++;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < 16) bad.push(`${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') || el.getAttribute('name') || el.getAttribute('placeholder') || '').slice(0, 30)}" ${size}px`);
  }
  return { bad, measured };
});

/** Pairs the phone from a `#pair=CODE` link as a user would: the code is filled in, the device named, Pair tapped. */
/**
 * A session's header (#51): opaque over the transcript, and the agent's name whole, never cut behind the status badge
 * (whatever the badge says) nor under the buttons beside it. Throws saying what is wrong.
 */
export async function sessionHeaderWhole(page, agentName = 'Claude Code') {
  const head = await page.locator('.appbar').evaluate((bar) => {
    const agent = bar.querySelector('[data-testid="session-agent"]');
    const sub = bar.querySelector('.appbar-sub');
    const rect = (el) => el && (({ left, right, top, bottom }) => ({ left, right, top, bottom }))(el.getBoundingClientRect());
    return {
      background: getComputedStyle(bar).backgroundColor, name: agent?.textContent, badge: bar.querySelector('.badge')?.textContent,
      agent: rect(agent), sub: rect(sub), clipped: agent ? agent.scrollWidth > agent.clientWidth + 0.5 : true,
    };
  });
  if (!/^rgb\(/.test(head.background)) throw new Error(`the header is see-through: ${head.background}`);
  const inside = head.agent && head.sub && head.agent.left >= head.sub.left - 0.5 && head.agent.right <= head.sub.right + 0.5
    && head.agent.top >= head.sub.top - 0.5 && head.agent.bottom <= head.sub.bottom + 0.5;
  if (head.name !== agentName || !inside || head.clipped) throw new Error(`the agent's name is cut beside "${head.badge}": ${JSON.stringify(head)}`);
}

export async function pair(page, base, code, deviceName) {
  await page.goto(`${base}/#pair=${code}`);
  await page.locator('input[name="deviceName"]').fill(deviceName);
  await page.getByRole('button', { name: 'Pair', exact: true }).click();
  await page.getByRole('button', { name: 'Add project' }).waitFor();
}

/** Adds the project by its path from Home; the app then opens its New session screen. */
export async function addProject(page, path) {
  await page.getByRole('button', { name: 'Add project' }).click();
  await page.locator('input[name="path"]').fill(path);
  await page.locator('form button[type="submit"]', { hasText: 'Add project' }).click();
  await page.getByRole('heading', { name: 'New session' }).waitFor();
  return new URL(page.url()).pathname.split('/')[2];
}

/** Unfolds New session's options (agent, mode, profile, where, when, model), folded under the prompt on open. */
export async function openSessionOptions(page) {
  const toggle = page.locator('button.options-summary');
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
  await page.locator('#session-options').waitFor();
}

/** A failed run: the error, what the page showed (CI keeps the log, not the screenshots), and a screenshot. */
export async function reportFailure(page, error, screenshot) {
  console.error(`FAIL: ${error?.stack ?? error}`);
  const shown = await page.locator('body').innerText({ timeout: 2000 }).catch(() => '(page text unavailable)');
  console.error(`  the page showed:\n  ${shown.slice(0, 2000).split('\n').join('\n  ')}`);
  await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
}

/**
 * A script's arguments, with --shots (where screenshots go, made here) and --chromium (Debian's) for every script. A
 * missing `required` one prints the usage and exits 2.
 */
export function scriptArgs(options, required, usage) {
  const { values } = parseArgs({
    options: {
      ...options,
      shots: { type: 'string', default: 'test-results' },
      chromium: { type: 'string', default: process.env.POCKETCODER_CHROMIUM || '/usr/bin/chromium' },
    },
  });
  if (required.some((name) => !values[name])) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  mkdirSync(values.shots, { recursive: true });
  return values;
}

/** One step passed, as every script reports it. */
export const ok = (what) => console.log(`ok - ${what}`);

/**
 * The shape of a script against one paired phone and one project: parses `--url --code --repo [--shots]`, launches the
 * phone with a fresh profile, pairs it as `deviceName` and adds the repository as a project, then runs `steps` with
 * `{page, base, projectId, args, shots, context, chromium}` (`more`: the script's own options, in `args`, each required
 * unless it has a default;
 * `chromiumArgs(args)`: more flags for the phone's Chromium, from them). Script errors on the page fail the run ("no script
 * errors" is its last ok); a failure is reported with a screenshot `<name>-failure.png`; the browser and profile always
 * go; the exit code says.
 */
export async function runPhoneScript(name, deviceName, steps, more = {}, chromiumArgs = () => []) {
  const args = scriptArgs(
    { url: { type: 'string' }, code: { type: 'string' }, repo: { type: 'string' }, ...more },
    ['url', 'code', 'repo', ...Object.keys(more).filter((k) => !('default' in more[k]))],
    `node e2e/${name}.mjs --url URL --code CODE --repo DIR${Object.keys(more).map((k) => ` --${k} VALUE`).join('')}`,
  );
  const base = args.url.replace(/\/$/, '');
  process.exit(await withPairedPhone({ name, deviceName, base, args, chromiumArgs: chromiumArgs(args) }, async ({ page, context }) => {
    const projectId = await addProject(page, args.repo);
    await steps({ page, base, projectId, repo: args.repo, args, shots: (file) => join(args.shots, file), context, chromium: args.chromium });
  }));
}

/**
 * One phone for a script: launched with a fresh profile (`args.chromium`, `chromiumArgs`), paired as `deviceName`, then
 * `steps({page, context, profile})`. Script errors on the page fail the run ("no script errors" is its last ok); a
 * failure is reported with a screenshot `<name>-failure.png` in `args.shots`; the browser and profile always go. Returns
 * the exit code.
 */
export async function withPairedPhone({ name, deviceName, base, args, chromiumArgs = [] }, steps) {
  const profile = mkdtempSync(join(tmpdir(), 'pc-chromium-'));
  const context = await launchPhone({ executablePath: args.chromium, profile, args: chromiumArgs });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(60_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  let exitCode = 0;
  try {
    await pair(page, base, args.code, deviceName);
    await steps({ page, context, profile });
    if (errors.length) throw new Error(`script errors: ${errors.join('; ')}`);
    ok('no script errors');
  } catch (e) {
    exitCode = 1;
    await reportFailure(page, e, join(args.shots, `${name}-failure.png`));
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  return exitCode;
}

/**
 * Controls under 44x44, clipped, or under 16 px, gathered over a run's screens so that one run names them all:
 * `measure(page, screen)` after each screen, `offenders` at the end.
 */
export function controlAudit() {
  const offenders = [];
  return {
    offenders,
    async measure(page, screen) {
      for (const [what, check] of [['under 44x44', smallTargets], ['clipped', clippedControls], ['under 16 px', smallFontControls]]) {
        for (const bad of (await check(page)).bad) offenders.push(`${screen}, ${what}: ${bad}`);
      }
    },
  };
}

/** Invites a person from People (the page is on it) and returns the one-time code the app shows for their first device. */
export async function invite(page, name, role, beforeDone = async () => {}) {
  const form = page.getByRole('form', { name: 'Invite a person' });
  await form.locator('input[name="personName"]').fill(name);
  await form.locator('select[name="personRole"]').selectOption(role);
  await form.getByRole('button', { name: 'Invite' }).click();
  const code = (await page.locator('[data-testid="invite-code"]').textContent()).trim();
  const link = (await page.locator('[data-testid="invite-link"]').textContent()).trim();
  if (!link.endsWith(`/#pair=${code}`)) throw new Error(`the invite's link does not carry its code: ${link}`);
  // The link as a QR code, drawn on the phone (web/src/components/PairingQr.test.ts reads it back).
  await page.locator('[data-testid="pairing-qr"] svg').waitFor();
  await beforeDone({ code, link });
  await page.getByRole('button', { name: 'Done' }).click();
  await page.locator(`[data-person="${name}"]`).waitFor();
  return code;
}

/** A browser for the team's other phones: each person gets a context of their own in it (`personPhone`). */
export const teamBrowser = (executablePath) => chromium.launch({
  executablePath, headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

/**
 * A second person's phone: its own browser context (its own cookie), paired from the invite link as they would, the link
 * opened where the app is already open, on a phone of `size` (the smaller one unless told).
 */
export async function personPhone(browser, base, code, deviceName, errors, [width, height] = [360, 640]) {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, colorScheme: 'light',
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  page.on('pageerror', (e) => errors.push(`${deviceName}: ${e}`));
  // The app already open when the link is opened (#51): only the fragment changes, no page load; the code must still arrive.
  await page.setViewportSize({ width, height });
  await page.goto(`${base}/`);
  await page.locator('input[name="deviceName"]').waitFor();
  const loads = [];
  page.on('load', () => loads.push(page.url()));
  await page.goto(`${base}/#pair=${code}`);
  const filled = await page.locator('input[name="code"]').inputValue({ timeout: 5000 });
  if (filled.replace(/[^A-Za-z0-9]/g, '').toUpperCase() !== code.replace(/[^A-Za-z0-9]/g, '').toUpperCase()) {
    throw new Error(`${deviceName}: the pairing link opened in the open app left the code field at "${filled}"`);
  }
  if (loads.length) throw new Error(`${deviceName}: the pairing link loaded the page again: ${loads.join(', ')}`);
  const pairBox = await page.getByRole('button', { name: 'Pair', exact: true }).boundingBox();
  if (!pairBox || pairBox.y + pairBox.height > height) throw new Error(`${deviceName}: Pair is below the fold at ${width}x${height}: ${JSON.stringify(pairBox)}`);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.locator('input[name="deviceName"]').fill(deviceName);
  await page.getByRole('button', { name: 'Pair', exact: true }).click();
  await page.getByRole('link', { name: 'People' }).waitFor();
  return page;
}
