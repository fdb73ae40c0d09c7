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

/** Pairs the phone from a `#pair=CODE` link as a user would: the code is filled in, the device named, Pair tapped. */
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
 * `{page, base, projectId, shots, context, chromium}`. Script errors on the page fail the run ("no script errors" is its last ok); a
 * failure is reported with a screenshot `<name>-failure.png`; the browser and profile always go; the exit code says.
 */
export async function runPhoneScript(name, deviceName, steps) {
  const args = scriptArgs(
    { url: { type: 'string' }, code: { type: 'string' }, repo: { type: 'string' } },
    ['url', 'code', 'repo'],
    `node e2e/${name}.mjs --url URL --code CODE --repo DIR`,
  );
  const base = args.url.replace(/\/$/, '');
  const profile = mkdtempSync(join(tmpdir(), 'pc-chromium-'));
  const context = await launchPhone({ executablePath: args.chromium, profile });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(60_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  let exitCode = 0;
  try {
    await pair(page, base, args.code, deviceName);
    const projectId = await addProject(page, args.repo);
    await steps({ page, base, projectId, repo: args.repo, shots: (file) => join(args.shots, file), context, chromium: args.chromium });
    if (errors.length) throw new Error(`script errors: ${errors.join('; ')}`);
    ok('no script errors');
  } catch (e) {
    exitCode = 1;
    await reportFailure(page, e, join(args.shots, `${name}-failure.png`));
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  process.exit(exitCode);
}
