// Names every failed test of a run, with the first lines of its message, read from the run's reports (xunit's .trx files
// and vitest's JUnit .xml): printed at the end of scripts/test.sh, where a log cut to its last lines still shows them all.
//
//   node scripts/failures.mjs RESULTS_DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const unescape = (s) => s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const firstLines = (text, n = 4) => unescape(text).split('\n').map((line) => line.trimEnd()).filter(Boolean).slice(0, n);

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
if (failures.length > 0) {
  console.log(`failed tests (${failures.length}):`);
  for (const { name, message } of failures) {
    console.log(`  FAILED ${name}`);
    for (const line of message) console.log(`    ${line.slice(0, 300)}`);
  }
}
