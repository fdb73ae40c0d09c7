// Names every failed test of a run (and the slowest test classes), with the first lines of its message, read from the run's reports (xunit's .trx files
// and vitest's JUnit .xml): printed at the end of scripts/test.sh, where a log cut to its last lines still shows them all.
//
//   node scripts/failures.mjs RESULTS_DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const unescape = (s) => s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
// A message's first line (the assertion), then the lines that say what went wrong (a browser script's log puts its error
// last, after its "ok" steps), then its last two: at most eight lines, in order.
const firstLines = (text) => {
  const lines = unescape(text).split('\n').map((line) => line.trimEnd()).filter(Boolean);
  if (lines.length <= 8) return lines;
  const telling = lines.map((line, i) => [line, i]).filter(([line, i]) => i > 0 && i < lines.length - 2 && /error|not ok|fail|timeout|exceeded|expected/i.test(line)).slice(-3);
  const picked = [[lines[0], 0], ...telling, [lines.at(-2), lines.length - 2], [lines.at(-1), lines.length - 1]];
  return picked.map(([line, i], k) => (k > 0 && i > picked[k - 1][1] + 1 ? `… ${line}` : line));
};

const failures = [];
const dir = process.argv[2];
for (const file of readdirSync(dir)) {
  const text = readFileSync(join(dir, file), 'utf8');
  if (file.endsWith('.trx')) {
    // <UnitTestResult ... testName=".." ... outcome="Failed" ...> ... <Message>..</Message> ... </UnitTestResult>, or self-closed
    for (const [, attributes, body] of text.matchAll(/<UnitTestResult\b([^>]*?)(?:\/>|>([\s\S]*?)<\/UnitTestResult>)/g)) {
      if (!/outcome="Failed"/.test(attributes)) continue;
      const name = unescape(/testName="([^"]*)"/.exec(attributes)?.[1] ?? '?');
      failures.push({ name, message: firstLines(/<Message>([\s\S]*?)<\/Message>/.exec(body ?? '')?.[1] ?? '') });
    }
  } else if (file.endsWith('.xml')) {
    // <testcase classname=".." name=".."> <failure message=".."> ... </testcase>
    for (const [, attributes, body] of text.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
      const failure = /<(failure|error)\b([^>]*)>/.exec(body ?? '');
      if (!failure) continue;
      const name = unescape(`${/classname="([^"]*)"/.exec(attributes)?.[1] ?? ''} > ${/ name="([^"]*)"/.exec(attributes)?.[1] ?? '?'}`);
      failures.push({ name, message: firstLines(/message="([^"]*)"/.exec(failure[2])?.[1] ?? '') });
    }
  }
}
// The slowest test classes (their tests' durations summed), on one line: where a run's time went, for keeping the suite
// within its budget, read from the same tail of the log.
const classes = new Map();
for (const file of readdirSync(dir).filter((f) => f.endsWith('.trx'))) {
  const text = readFileSync(join(dir, file), 'utf8');
  for (const [, attributes] of text.matchAll(/<UnitTestResult\b([^>]*?)(?:\/>|>)/g)) {
    const name = unescape(/testName="([^"]*)"/.exec(attributes)?.[1] ?? '').replace(/\(.*$/, '');
    const [, h, m, sec] = /duration="(\d+):(\d+):([\d.]+)"/.exec(attributes) ?? [];
    if (!name || h === undefined) continue;
    const owner = name.split('.').slice(-2, -1)[0] ?? name;
    classes.set(owner, (classes.get(owner) ?? 0) + Number(h) * 3600 + Number(m) * 60 + Number(sec));
  }
}
const slowest = [...classes].sort((a, b) => b[1] - a[1]).slice(0, 15);
if (slowest.length > 0) {
  console.log(`slowest test classes: ${slowest.map(([name, seconds]) => `${name} ${Math.round(seconds)} s`).join(', ')}`);
}
// Each report's wall time (scripts/test.sh runs two halves side by side, split by folder) and its tests' time by folder, so
// the halves can be kept even: the longer one is the suite's time. A class fixture's set-up counts in the wall time only.
for (const file of readdirSync(dir).filter((f) => f.endsWith('.trx')).sort()) {
  const text = readFileSync(join(dir, file), 'utf8');
  const times = /<Times\b[^>]*\bstart="([^"]+)"[^>]*\bfinish="([^"]+)"/.exec(text);
  const folders = new Map();
  for (const [, attributes] of text.matchAll(/<UnitTestResult\b([^>]*?)(?:\/>|>)/g)) {
    const name = unescape(/testName="([^"]*)"/.exec(attributes)?.[1] ?? '').replace(/\(.*$/, '');
    const [, h, m, sec] = /duration="(\d+):(\d+):([\d.]+)"/.exec(attributes) ?? [];
    if (!name || h === undefined) continue;
    const folder = name.split('.').slice(2, 3)[0] ?? name;
    folders.set(folder, (folders.get(folder) ?? 0) + Number(h) * 3600 + Number(m) * 60 + Number(sec));
  }
  const wall = times ? Math.round((Date.parse(times[2]) - Date.parse(times[1])) / 1000) : NaN;
  const byFolder = [...folders].sort((a, b) => b[1] - a[1]).map(([name, seconds]) => `${name} ${Math.round(seconds)}`).join(', ');
  console.log(`${file}: ${wall} s wall; tests by folder (s): ${byFolder}`);
}
if (failures.length > 0) {
  console.log(`failed tests (${failures.length}):`);
  for (const { name, message } of failures) {
    console.log(`  FAILED ${name}`);
    for (const line of message) console.log(`    ${line.slice(0, 300)}`);
  }
}
