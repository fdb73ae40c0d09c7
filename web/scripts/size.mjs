// Reports what a phone downloads on first load (the JS and CSS that index.html pulls in), gzipped,
// and fails the build when it is over budget.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET = 150 * 1024;
const out = new URL('../../src/PocketCoder/wwwroot/', import.meta.url).pathname;
const index = readFileSync(join(out, 'index.html'), 'utf8');
const files = [...index.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
let total = 0;
for (const file of files) {
  const gz = gzipSync(readFileSync(join(out, file)), { level: 9 }).length;
  total += gz;
  console.log(`  ${file.padEnd(40)} ${(gz / 1024).toFixed(1).padStart(6)} KB gzipped`);
}
const figure = `first load (JS+CSS): ${(total / 1024).toFixed(1)} KB gzipped, budget ${BUDGET / 1024} KB`;
if (files.length === 0) {
  console.error('size: no JS or CSS found in index.html');
  process.exit(1);
}
if (total > BUDGET) {
  console.error(`size: over budget: ${figure}`);
  process.exit(1);
}
console.log(`size: ${figure}`);
