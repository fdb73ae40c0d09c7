// The phone both browser tests drive: Debian's Chromium (never a downloaded browser), headless, a fresh profile,
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
