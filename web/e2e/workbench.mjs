// The app's second pass, part two (issue #14), in Debian's Chromium at 390x844 against the real server and Claude
// Code: a prompt dictated, a screenshot attached, a turn's changes reviewed, every session found again by what was asked, a file highlighted, edited and saved, an edit
// that meets the agent's own change on disk, the project's history with a commit's diff, and changes discarded.
// Started by tests/PocketCoder.Tests/Browser/WorkbenchBrowserTests.cs.
//
//   node e2e/workbench.mjs --url URL --code PAIRCODE --repo DIR [--shots DIR]
//
// Prints "ok - <step>" per step; exits 0, or 1 with the failure.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addProject, launchPhone, ok, pair, reportFailure, scriptArgs, smallTargets } from './phone.mjs';

const args = scriptArgs(
  { url: { type: 'string' }, code: { type: 'string' }, repo: { type: 'string' } },
  ['url', 'code', 'repo'],
  'node e2e/workbench.mjs --url URL --code CODE --repo DIR',
);
const base = args.url.replace(/\/$/, '');
const DICTATED = 'please make the flaky uploader retry';
// The 2x1 PNG (red, blue) the C# side expects the model to receive byte for byte.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAADUlEQVR4nGP4zwAE/wEHAAH/4iOeWQAAAABJRU5ErkJggg==';

const offenders = [];
const measure = async (page, screen) => offenders.push(...(await smallTargets(page)).bad.map((o) => `${screen}: ${o}`));

const profile = mkdtempSync(join(tmpdir(), 'pc-chromium-'));
const context = await launchPhone({ executablePath: args.chromium, profile });
// Headless Chromium has no speech service (it answers "not-allowed"): this stands in for the platform's recogniser.
await context.addInitScript((words) => {
  window.SpeechRecognition = window.webkitSpeechRecognition = class {
    start() {
      queueMicrotask(() => this.onresult?.({ resultIndex: 0, results: [{ isFinal: true, 0: { transcript: words } }] }));
    }
    stop() { this.onend?.(); }
  };
}, DICTATED);
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(60_000);
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
let exitCode = 0;
try {
  await pair(page, base, args.code, 'Workbench phone');
  const projectId = await addProject(page, args.repo);

  // Voice: the microphone fills the prompt with what was said.
  await page.getByRole('button', { name: 'Dictate' }).click();
  await page.waitForFunction((words) => document.querySelector('textarea[name="prompt"]')?.value === words, DICTATED);
  await measure(page, 'new session');
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/s\/[^/]+$/);
  const sessionId = new URL(page.url()).pathname.split('/')[2];
  await page.locator('.md', { hasText: 'On it.' }).waitFor();
  await page.getByRole('button', { name: 'Dictate' }).waitFor();
  ok('a prompt dictated with the platform speech recogniser started the session');

  // A screenshot attached to a message: a chip before sending, listed on the message after, answered by the model.
  await page.locator('[data-testid="attach-input"]').setInputFiles({ name: 'bug.png', mimeType: 'image/png', buffer: Buffer.from(PNG, 'base64') });
  await page.locator('.attachment-chip', { hasText: 'bug.png' }).locator('img').waitFor();
  await measure(page, 'session (attachment)');
  await page.getByRole('textbox', { name: 'Message' }).fill('What is in this screenshot?');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('.user-bubble .sent-attachments', { hasText: 'bug.png' }).waitFor();
  await page.locator('.md', { hasText: 'A red and a blue pixel.' }).waitFor();
  if (await page.locator('.attachment-chip').count()) throw new Error('the sent attachment is still waiting in the composer');
  ok('an image attached from the phone went with the message (the test checks the model got it as an image block)');

  // The turn's changes, reviewed: the file it changed, its diff, and a request for changes sent back to the agent.
  await page.getByRole('textbox', { name: 'Message' }).fill('Rewrite the readme');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('.approval.pending').getByRole('button', { name: 'Allow once' }).click();
  await page.getByRole('link', { name: 'Review 1 changed file' }).click();
  await page.locator('.turn-files .list-row[data-path="README.md"]', { hasText: '+1 −1' }).waitFor();
  await page.locator('.diff-body .add', { hasText: '# Rewritten' }).waitFor();
  await measure(page, 'turn review');
  await page.getByRole('button', { name: 'Ask for changes…' }).click();
  await page.locator('.sticky-actions textarea').fill('Keep the old title too.');
  await page.getByRole('button', { name: 'Submit review' }).click();
  await page.waitForURL(`${base}/s/${sessionId}`);
  await page.locator('.user-bubble', { hasText: 'Keep the old title too.' }).waitFor();
  await page.locator('.md', { hasText: 'Keeping both.' }).waitFor();
  ok('a turn that changed a file offers its review: the file, its diff, and "Ask for changes…" sent back to the agent');

  // One list of everything, searched by what was asked.
  await page.goto(`${base}/`);
  await page.getByRole('link', { name: 'All sessions' }).click();
  await page.locator(`.session-row[data-session="${sessionId}"]`).filter({ hasText: 'Keeping both.' }).waitFor();
  await page.getByRole('searchbox', { name: 'Search sessions' }).fill('flaky uplo');
  await page.locator(`.session-row[data-session="${sessionId}"] mark`, { hasText: 'flaky' }).waitFor();
  await measure(page, 'all sessions');
  await page.getByRole('searchbox', { name: 'Search sessions' }).fill('nothing like this');
  await page.locator('.empty', { hasText: 'Nothing you asked matches' }).waitFor();
  await page.screenshot({ path: join(args.shots, 'workbench-01-search.png') });
  ok('All sessions lists every session with its latest message; a search finds it by a word of the prompt, marked');

  // Files: highlighted on demand, edited, saved over exactly the version opened.
  const appFile = join(args.repo, 'src', 'app.ts');
  await page.goto(`${base}/p/${projectId}/file?path=src%2Fapp.ts`);
  await page.locator('[data-testid="file-content"][data-highlighted="true"] .tok-keyword', { hasText: 'export' }).first().waitFor();
  await measure(page, 'file');
  await page.getByRole('button', { name: 'Edit' }).click();
  const editor = page.locator('[data-testid="file-editor"]');
  await editor.fill('export const answer = 42;\n');
  await measure(page, 'file (editing)');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('[role="status"]', { hasText: 'Saved.' }).waitFor();
  if (readFileSync(appFile, 'utf8') !== 'export const answer = 42;\n') throw new Error(`the save did not reach the disk: ${readFileSync(appFile, 'utf8')}`);
  ok('a file shown highlighted (its highlighter loaded only here), edited and saved');

  // The agent changes the file while the owner edits it: the app says so, and a save asks what to keep.
  await page.getByRole('button', { name: 'Edit' }).click();
  await editor.fill('export const answer = 43;\n');
  writeFileSync(appFile, 'export const answer = 42; // the agent\n');
  await page.locator('.warn-note', { hasText: 'changed on disk' }).waitFor();
  await page.getByRole('button', { name: 'Save' }).click();
  const conflict = page.locator('[data-testid="file-conflict"]');
  await conflict.locator('.diff-body .del', { hasText: '// the agent' }).waitFor();
  await conflict.locator('.diff-body .add', { hasText: 'answer = 43' }).waitFor();
  if (readFileSync(appFile, 'utf8') !== 'export const answer = 42; // the agent\n') throw new Error('the refused save changed the file');
  await page.screenshot({ path: join(args.shots, 'workbench-02-conflict.png'), fullPage: true });
  await conflict.getByRole('button', { name: 'Replace with mine' }).click();
  await page.locator('[role="status"]', { hasText: 'Saved.' }).waitFor();
  if (readFileSync(appFile, 'utf8') !== 'export const answer = 43;\n') throw new Error('"Replace with mine" did not save');
  ok('an edit that met a change on disk: warned live, the save refused with both versions shown, then replaced on purpose');

  // History: the commits, and one commit's diff.
  await page.goto(`${base}/p/${projectId}/git`);
  await page.getByRole('link', { name: 'History' }).click();
  await page.locator('.commit-row', { hasText: 'add app' }).click();
  await page.locator('.diff-body .add', { hasText: 'export const answer = 41;' }).waitFor();
  await measure(page, 'commit');
  await page.getByRole('button', { name: 'Back' }).click();
  await page.locator('.commit-row', { hasText: 'initial' }).waitFor();
  await measure(page, 'history');
  ok('History lists the commits; a commit shows its diff');

  // Discard: confirmed first, then the file is as committed and the new file is gone.
  writeFileSync(join(args.repo, 'scratch.txt'), 'junk\n');
  await page.goto(`${base}/p/${projectId}/git`);
  await page.locator('.git-row[data-path="scratch.txt"]').waitFor();
  await page.getByRole('button', { name: 'Discard…' }).click();
  await page.locator('[data-testid="confirm-discard"]', { hasText: 'delete 1 new file' }).waitFor();
  await measure(page, 'git (discard)');
  await page.getByRole('button', { name: 'Discard changes' }).click();
  await page.locator('[role="status"]', { hasText: 'Changes discarded.' }).waitFor();
  await page.locator('.empty', { hasText: 'working tree is clean' }).waitFor();
  ok('Discard… asks first, then puts back the edited file and deletes the new one');

  if (offenders.length) throw new Error(`controls under 44x44:\n  ${offenders.join('\n  ')}`);
  ok('every control on the new screens is at least 44x44');
  if (errors.length) throw new Error(`script errors: ${errors.join('; ')}`);
  ok('no script errors');
} catch (e) {
  exitCode = 1;
  await reportFailure(page, e, join(args.shots, 'workbench-failure.png'));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(exitCode);
