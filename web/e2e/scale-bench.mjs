// The browser's rows of the scale bench (issue #52): bench/PocketCoder.Bench/ScaleBench.cs runs it against the published
// server on a data folder holding a long session and a short one; no test does. The phone (Debian's Chromium at 390x844)
// pairs, then opens the long session and the short one in turn, `rounds` times each, and measures for every opening:
// the time from navigation to the transcript's newest item on screen (the page's own clock, to the frame), the page's JS
// heap after a garbage collection (CDP Performance.getMetrics, JSHeapUsedSize) and the RSS of the page's renderer
// process (/proc). Then it pages back `pages` pages in the long session and measures the heap again: the window holds
// at most three pages (src/transcriptWindow.ts), so it must not grow with the pages read.
//
//   node e2e/scale-bench.mjs --url URL --code CODE --sessions JSON [--rounds 5] [--pages 10]
//
// --sessions: {"long": {"id", "lastSeq", "newest"}, "short": {...}}, "newest" being words of the session's newest item.
// Prints "ok - <step>" per step and, last, one line "result <json>"; exits 0, or 1.

import { readFileSync, readdirSync } from 'node:fs';
import { ok, scriptArgs, withPairedPhone } from './phone.mjs';

const args = scriptArgs(
  { url: { type: 'string' }, code: { type: 'string' }, sessions: { type: 'string' }, rounds: { type: 'string', default: '5' }, pages: { type: 'string', default: '10' } },
  ['url', 'code', 'sessions'],
  'node e2e/scale-bench.mjs --url URL --code CODE --sessions JSON [--rounds N] [--pages N]',
);
const base = args.url.replace(/\/$/, '');
const sessions = JSON.parse(args.sessions);
const MiB = 1024 * 1024;

/** The pids under `root` (the zygote forks the renderers, so they are grandchildren of the browser). */
function descendants(root) {
  const parents = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone meanwhile */ }
  }
  const found = [];
  const walk = (pid) => { for (const [child, parent] of parents) if (parent === pid) { found.push(child); walk(child); } };
  walk(root);
  return found;
}

// Chromium's children rewrite their command line as one string, spaces and all (its processes' titles).
const cmdline = (pid) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/); } catch { return []; } };
const rssMiB = (pid) => {
  try { return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024; } catch { return 0; }
};

/** The browser process of this profile (Playwright names the profile on its command line; its children do not). */
function browserPid(profile) {
  for (const name of readdirSync('/proc')) {
    const argv = /^\d+$/.test(name) ? cmdline(name) : [];
    if (argv.includes(`--user-data-dir=${profile}`) && !argv.some((a) => a.startsWith('--type='))) return Number(name);
  }
  throw new Error(`no browser process with the profile ${profile}`);
}

/**
 * The RSS of the page's renderer, in MiB: the biggest of the browser's renderers but its own UI's (the spare renderer
 * Chromium keeps ready for the next page holds none), and how many renderers there are.
 */
function pageRenderer(browser) {
  const pids = descendants(browser).filter((pid) => cmdline(pid).includes('--type=renderer') && !cmdline(pid).includes('--top-chrome-webui'));
  return { rssMiB: Math.max(0, ...pids.map(rssMiB)), count: pids.length };
}

/** The page's JS heap in use after a full garbage collection, in MiB. */
async function heapMiB(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('Performance.enable');
    const { metrics } = await cdp.send('Performance.getMetrics');
    return metrics.find((m) => m.name === 'JSHeapUsedSize').value / MiB;
  } finally {
    await cdp.detach();
  }
}

/** Opens a session and returns the ms from navigation to its newest item on screen, by the page's clock. */
async function firstScreen(page, session) {
  await page.goto(`${base}/s/${session.id}`, { waitUntil: 'commit' });
  const shown = await page.waitForFunction(({ lastSeq, newest }) => {
    const main = document.querySelector('main.transcript-page');
    if (!main || Number(main.dataset.lastSeq) < lastSeq) return false;
    const items = main.querySelectorAll('.transcript > li');
    const last = items[items.length - 1];
    if (!last?.textContent.includes(newest)) return false;
    const box = last.getBoundingClientRect();
    return box.bottom > 0 && box.bottom <= innerHeight + 1 ? performance.now() : false;
  }, session, { timeout: 60_000 });
  return shown.jsonValue();
}

/** One opening measured: first screen, heap, the page renderer's RSS (after the heap's collection), elements in the document. */
async function measureOpen(page, browser, session) {
  const ms = await firstScreen(page, session);
  const heap = await heapMiB(page);
  // Should a navigation move the page to a new renderer, the one it left takes a moment to exit (its RSS is not this page's).
  await page.waitForTimeout(1000);
  const { rssMiB: rss, count } = pageRenderer(browser);
  const nodes = await page.evaluate(() => document.getElementsByTagName('*').length);
  return { ms, heap, rss, renderers: count, nodes };
}

/** Pages back from the newest page, `pages` times: the heap and the items held after each. */
async function pageBack(page, pages) {
  const held = [];
  for (let i = 0; i < pages; i++) {
    const first = await page.locator('.transcript > li').first().getAttribute('data-seq');
    await page.getByTestId('earlier').click();
    await page.waitForFunction((seq) => document.querySelector('.transcript > li')?.dataset.seq !== seq, first, { timeout: 30_000 });
    const items = await page.locator('.transcript > li').count();
    held.push({ page: i + 1, heap: await heapMiB(page), items, firstSeq: Number(await page.locator('.transcript > li').first().getAttribute('data-seq')) });
  }
  return held;
}

// Playwright's flags already keep the back/forward cache off: a page navigated away from does not stay alive in it.
process.exit(await withPairedPhone({ name: 'scale-bench', deviceName: 'Scale bench phone', base, args }, async ({ page, profile }) => {
  const browser = browserPid(profile);
  const result = { long: [], short: [], pagedBack: [] };
  // Alternating, so that whatever the machine does meanwhile falls on both.
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const kind of ['short', 'long']) result[kind].push(await measureOpen(page, browser, sessions[kind]));
  }
  for (const kind of ['short', 'long']) ok(`${kind}: ${result[kind].map((o) => `${o.ms.toFixed(0)} ms ${o.heap.toFixed(2)} MiB heap ${o.rss.toFixed(1)} MiB RSS (${o.renderers} renderers, ${o.nodes} nodes)`).join('; ')}`);
  await firstScreen(page, sessions.long);
  result.pagedBack = await pageBack(page, Number(args.pages));
  ok(`paged back ${args.pages} pages in the long session: heap ${result.pagedBack.map((p) => p.heap.toFixed(2)).join(', ')} MiB, `
    + `items ${result.pagedBack.map((p) => p.items).join(', ')}`);
  console.log(`result ${JSON.stringify(result)}`);
}));
