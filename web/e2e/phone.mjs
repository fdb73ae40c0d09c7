// The phone every browser test drives: Debian's Chromium (never a downloaded browser), headless, a fresh profile,
// a 390x844 touch screen with a mobile user agent.

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
