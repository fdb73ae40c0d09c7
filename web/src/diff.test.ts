import { describe, expect, it } from 'vitest';
import { editFile, parseUnifiedDiff, unquotePath, wordDiff } from './diff';

const MODIFIED = `diff --git a/src/app.ts b/src/app.ts
index 3b18e51..a3c2f9d 100644
--- a/src/app.ts
+++ b/src/app.ts
@@ -8,5 +8,6 @@ export function main() {
 const a = 1;
-const answer = 41;
+const answer = 42;
+const extra = true;
 -- not a header, a context line starting with dashes
 const b = 2;
 const c = 3;
`;

describe('parseUnifiedDiff', () => {
  it('numbers old and new lines from the hunk header, counting each side on its own', () => {
    const [file] = parseUnifiedDiff(MODIFIED);
    expect(file).toMatchObject({ path: 'src/app.ts', status: 'modified', added: 2, deleted: 1, binary: false });
    const hunk = file!.hunks[0]!;
    expect(hunk.section).toBe('export function main() {');
    expect(hunk.lines.map((l) => [l.kind, l.old, l.new])).toEqual([
      ['ctx', 8, 8], ['del', 9, undefined], ['add', undefined, 9], ['add', undefined, 10], ['ctx', 10, 11], ['ctx', 11, 12], ['ctx', 12, 13],
    ]);
    expect(hunk.lines[4]!.text).toBe('-- not a header, a context line starting with dashes');
  });

  it('takes removed lines that look like headers ("--- x") by the hunk counts', () => {
    const [file] = parseUnifiedDiff('diff --git a/x.md b/x.md\n--- a/x.md\n+++ b/x.md\n@@ -1,2 +1,1 @@\n--- a list item\n keep\n');
    expect(file!.hunks[0]!.lines.map((l) => [l.kind, l.text])).toEqual([['del', '-- a list item'], ['ctx', 'keep']]);
    expect(file!.deleted).toBe(1);
  });

  it('marks the changed words of a removed/added pair, and leaves unrelated lines whole', () => {
    const [file] = parseUnifiedDiff(MODIFIED);
    const [del, add, extra] = file!.hunks[0]!.lines.slice(1, 4);
    expect(del!.words).toEqual([{ text: 'const answer = ', changed: false }, { text: '41', changed: true }, { text: ';', changed: false }]);
    expect(add!.words).toEqual([{ text: 'const answer = ', changed: false }, { text: '42', changed: true }, { text: ';', changed: false }]);
    expect(extra!.words).toBeUndefined();
  });

  it('reads renames, with and without changes, and keeps both paths', () => {
    const files = parseUnifiedDiff(`diff --git a/old name.txt b/new name.txt
similarity index 100%
rename from old name.txt
rename to new name.txt
diff --git a/a.ts b/lib/a.ts
similarity index 80%
rename from a.ts
rename to lib/a.ts
index 1..2 100644
--- a/a.ts
+++ b/lib/a.ts
@@ -1 +1 @@
-x
+y
`);
    expect(files.map((f) => [f.status, f.oldPath, f.path, f.added, f.deleted, f.hunks.length])).toEqual([
      ['renamed', 'old name.txt', 'new name.txt', 0, 0, 0],
      ['renamed', 'a.ts', 'lib/a.ts', 1, 1, 1],
    ]);
    expect(files[1]!.hunks[0]!.lines.map((l) => [l.old, l.new])).toEqual([[1, undefined], [undefined, 1]]);
  });

  it('reads binary files, new and deleted files, and mode changes', () => {
    const files = parseUnifiedDiff(`diff --git a/logo.png b/logo.png
new file mode 100644
index 0000000..e69de29
Binary files /dev/null and b/logo.png differ
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
index e69de29..0000000
--- a/gone.txt
+++ /dev/null
@@ -1,2 +0,0 @@
-one
-two
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
diff --git a/new.txt b/new.txt
new file mode 100644
--- /dev/null
+++ b/new.txt
@@ -0,0 +1 @@
+hello
`);
    expect(files.map((f) => [f.path, f.status, f.binary, f.added, f.deleted])).toEqual([
      ['logo.png', 'added', true, 0, 0],
      ['gone.txt', 'deleted', false, 0, 2],
      ['run.sh', 'modified', false, 0, 0],
      ['new.txt', 'added', false, 1, 0],
    ]);
    expect(files[1]!.hunks[0]!.lines.map((l) => l.old)).toEqual([1, 2]);
    expect(files[2]!.mode).toBe('100644 → 100755');
    expect(files[3]!.hunks[0]!.lines[0]).toMatchObject({ kind: 'add', new: 1, text: 'hello' });
  });

  it('notes "no newline at end of file" on the line it follows, not as a line', () => {
    const [file] = parseUnifiedDiff(`--- a/t.txt
+++ b/t.txt
@@ -1,2 +1,2 @@
 one
-two
\\ No newline at end of file
+two
`);
    const lines = file!.hunks[0]!.lines;
    expect(lines.map((l) => [l.kind, l.text, l.noNewline ?? false])).toEqual([['ctx', 'one', false], ['del', 'two', true], ['add', 'two', false]]);
    expect(file).toMatchObject({ path: 't.txt', added: 1, deleted: 1 });
  });

  it('unquotes paths git escapes (UTF-8 as octal bytes, quotes, tabs)', () => {
    expect(unquotePath('"caf\\303\\251.txt"')).toBe('café.txt');
    expect(unquotePath('"a\\"b\\tc"')).toBe('a"b\tc');
    const [file] = parseUnifiedDiff('diff --git "a/caf\\303\\251.txt" "b/caf\\303\\251.txt"\n--- "a/caf\\303\\251.txt"\n+++ "b/caf\\303\\251.txt"\n@@ -1 +1 @@\n-a\n+b\n');
    expect(file!.path).toBe('café.txt');
  });

  it('gives no files for text that is no diff', () => {
    expect(parseUnifiedDiff('')).toEqual([]);
    expect(parseUnifiedDiff('hello\nworld\n')).toEqual([]);
  });
});

describe('wordDiff', () => {
  it('gives null when two lines share too little for words to help', () => {
    expect(wordDiff('return a + b;', 'throw new Error("nope")')).toBeNull();
  });

  it('keeps every character of both lines', () => {
    const [a, b] = wordDiff('  if (x.length > 10) return;', '  if (x.size >= 10) return null;')!;
    expect(a.map((s) => s.text).join('')).toBe('  if (x.length > 10) return;');
    expect(b.map((s) => s.text).join('')).toBe('  if (x.size >= 10) return null;');
    // Punctuation compares a character at a time: ">" stays, "=" is what was added to it.
    expect(a.filter((s) => s.changed).map((s) => s.text)).toEqual(['length']);
    expect(b.filter((s) => s.changed).map((s) => s.text)).toEqual(['size', '=', ' null']);
  });
});

describe('editFile', () => {
  it('numbers an edit from the file lines the server sent around it, with the whole first and last lines', () => {
    const file = editFile('Edit', { file_path: '/p/a.ts', old_string: '41', new_string: '42' }, {
      line: 10, before: ['a', 'b'], after: ['z'], prefix: 'const answer = ', suffix: ';',
    })!;
    expect(file.hunks[0]!.lines.map((l) => [l.kind, l.old, l.new, l.text])).toEqual([
      ['ctx', 8, 8, 'a'], ['ctx', 9, 9, 'b'], ['del', 10, undefined, 'const answer = 41;'], ['add', undefined, 10, 'const answer = 42;'], ['ctx', 11, 11, 'z'],
    ]);
    expect(file.hunks[0]!.lines[3]!.words?.find((s) => s.changed)?.text).toBe('42');
  });

  it('without context, shows the edit unnumbered; a new file is numbered from 1', () => {
    expect(editFile('Edit', { file_path: 'a', old_string: 'x', new_string: 'y' })!.hunks[0]!.lines[0]!.old).toBeUndefined();
    expect(editFile('Write', { file_path: 'a', content: 'one\ntwo\n' })!.hunks[0]!.lines.map((l) => l.new)).toEqual([1, 2]);
  });

  it('replace_all says it replaces every occurrence, and is never shown among one occurrence\'s lines', () => {
    const file = editFile('Edit', { file_path: 'a', old_string: 'verify=True', new_string: 'verify=False', replace_all: true }, {
      line: 12, before: ['a'], after: ['b'], prefix: '', suffix: '',
    })!;
    expect(file.note).toMatch(/every occurrence/);
    expect(file.hunks[0]!.lines.map((l) => [l.kind, l.old])).toEqual([['del', undefined], ['add', undefined]]);
    expect(editFile('Edit', { file_path: 'a', old_string: 'x', new_string: 'y' })!.note).toBeUndefined();
  });
});
