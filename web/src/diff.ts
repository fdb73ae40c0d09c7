// Line diffs for edit tool inputs (old_string -> new_string), small enough for a phone to compute.

export interface DiffLine { op: ' ' | '-' | '+'; text: string }

const LIMIT = 2_000_000; // cells of the LCS table; beyond it, show the removal and the addition whole

/** A final newline ends the last line; it does not start an empty one. */
function lines(text: string): string[] {
  if (text === '') return [];
  const parts = text.split('\n');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export function diffLines(before: string, after: string): DiffLine[] {
  const a = lines(before);
  const b = lines(after);
  // Trim the common head and tail first: edits are usually small changes to large blocks.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const head: DiffLine[] = a.slice(0, start).map((text) => ({ op: ' ', text }));
  const tail: DiffLine[] = a.slice(endA).map((text) => ({ op: ' ', text }));
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  if (x.length * y.length > LIMIT) {
    return [...head, ...x.map((text): DiffLine => ({ op: '-', text })), ...y.map((text): DiffLine => ({ op: '+', text })), ...tail];
  }
  // lcs[i][j] = length of the longest common subsequence of x[i..] and y[j..]
  const width = y.length + 1;
  const lcs = new Uint32Array((x.length + 1) * width);
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      lcs[i * width + j] = x[i] === y[j] ? lcs[(i + 1) * width + j + 1]! + 1 : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
    }
  }
  const middle: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    if (x[i] === y[j]) {
      middle.push({ op: ' ', text: x[i]! });
      i++;
      j++;
    } else if (lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!) {
      middle.push({ op: '-', text: x[i++]! });
    } else {
      middle.push({ op: '+', text: y[j++]! });
    }
  }
  while (i < x.length) middle.push({ op: '-', text: x[i++]! });
  while (j < y.length) middle.push({ op: '+', text: y[j++]! });
  return [...head, ...middle, ...tail];
}

/** Keeps changed lines and `context` lines around them; long unchanged runs become a gap marker (null). */
export function withContext(lines: DiffLine[], context = 3): (DiffLine | null)[] {
  const keep = lines.map(() => false);
  lines.forEach((line, index) => {
    if (line.op === ' ') return;
    for (let k = Math.max(0, index - context); k <= Math.min(lines.length - 1, index + context); k++) keep[k] = true;
  });
  const out: (DiffLine | null)[] = [];
  lines.forEach((line, index) => {
    if (keep[index]) out.push(line);
    else if (out[out.length - 1] !== null) out.push(null);
  });
  return out;
}

export interface EditPreview { path: string; lines: DiffLine[]; created?: boolean }

/** What an Edit / MultiEdit / Write call will change, from its input; null when the input is not an edit. */
export function editPreview(tool: string, input: unknown): EditPreview | null {
  if (!input || typeof input !== 'object') return null;
  const o = input as Record<string, unknown>;
  const path = typeof o.file_path === 'string' ? o.file_path : typeof o.path === 'string' ? o.path : typeof o.notebook_path === 'string' ? o.notebook_path : '';
  if (typeof o.old_string === 'string' && typeof o.new_string === 'string') {
    return { path, lines: diffLines(o.old_string, o.new_string) };
  }
  if (Array.isArray(o.edits)) {
    const lines: DiffLine[] = [];
    for (const edit of o.edits as Record<string, unknown>[]) {
      if (typeof edit?.old_string !== 'string' || typeof edit.new_string !== 'string') continue;
      if (lines.length) lines.push({ op: ' ', text: '…' });
      lines.push(...diffLines(edit.old_string, edit.new_string));
    }
    return { path, lines };
  }
  if (typeof o.content === 'string' && (tool === 'Write' || path)) {
    return { path, lines: diffLines('', o.content), created: true };
  }
  return null;
}

// ---- Unified diffs, as git prints them, parsed into files, hunks and numbered lines ----

/** A run of a changed line's text: `changed` marks the words that differ from its paired line. */
export interface Segment { text: string; changed: boolean }

export interface NumberedLine {
  kind: 'ctx' | 'add' | 'del';
  text: string;
  /** The line's number in the old file (context and removed lines). */
  old?: number;
  /** The line's number in the new file (context and added lines). */
  new?: number;
  /** Set on a removed or added line that pairs with one on the other side: which of its words changed. */
  words?: Segment[];
  /** git's "\ No newline at end of file" followed this line. */
  noNewline?: boolean;
}

export interface Hunk {
  oldStart: number;
  newStart: number;
  /** What git prints after the second @@ (the enclosing function, when it finds one). */
  section: string;
  lines: NumberedLine[];
}

export type FileStatus = 'added' | 'deleted' | 'modified' | 'renamed' | 'copied';

export interface DiffFile {
  /** The path to show: the new one, or the old one for a deleted file. */
  path: string;
  oldPath: string;
  newPath: string;
  status: FileStatus;
  binary: boolean;
  added: number;
  deleted: number;
  hunks: Hunk[];
  /** A mode change (e.g. "100644 → 100755"), when git reports one. */
  mode?: string;
  /** What the lines alone do not say (an edit that replaces every occurrence). */
  note?: string;
}

const OCTAL: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', a: '\x07', b: '\b', f: '\f', v: '\v' };

/** A path as git prints it: C-quoted (with octal escapes for UTF-8 bytes) when it holds unusual characters. */
export function unquotePath(text: string): string {
  if (!text.startsWith('"') || !text.endsWith('"') || text.length < 2) return text;
  const bytes: number[] = [];
  const body = text.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\' && /^[0-7]{3}$/.test(body.slice(i + 1, i + 4))) {
      bytes.push(parseInt(body.slice(i + 1, i + 4), 8));
      i += 3;
    } else if (c === '\\' && OCTAL[body[i + 1] ?? ''] !== undefined) {
      bytes.push(OCTAL[body[++i]!]!.charCodeAt(0));
    } else {
      bytes.push(...new TextEncoder().encode(c));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** "a/x" -> "x" (git's prefixes), "/dev/null" -> "" (no file on that side). */
function side(text: string): string {
  const path = unquotePath(text.replace(/\t.*$/, '').trimEnd());
  if (path === '/dev/null') return '';
  return /^[ab]\//.test(path) ? path.slice(2) : path;
}

/** The two paths of `diff --git a/x b/y`: split where the b/ side starts (both sides are equal unless renamed). */
function gitHeaderPaths(rest: string): [string, string] {
  if (rest.startsWith('"')) {
    const close = rest.indexOf('" ', 1);
    if (close > 0) return [side(rest.slice(0, close + 1)), side(rest.slice(close + 2))];
  }
  const half = (rest.length - 1) / 2;
  if (Number.isInteger(half) && rest.slice(2, half) === rest.slice(half + 3)) return [rest.slice(2, half), rest.slice(half + 3)];
  const at = rest.indexOf(' b/');
  return at > 0 ? [side(rest.slice(0, at)), side(rest.slice(at + 1))] : [side(rest), side(rest)];
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$/;

/**
 * Every file of a unified diff (`git diff`, `git show`, a turn's or a branch's diff): each with its status, counts and
 * hunks of numbered lines, changed line pairs marked word by word. Text that is no diff at all gives no files.
 */
export function parseUnifiedDiff(text: string): DiffFile[] {
  const files: DiffFile[] = [];
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let file: DiffFile | null = null;
  let hunk: Hunk | null = null;
  let oldLeft = 0;
  let newLeft = 0;
  let oldNo = 0;
  let newNo = 0;
  const start = (oldPath: string, newPath: string): DiffFile => {
    const f: DiffFile = { path: newPath || oldPath, oldPath, newPath, status: 'modified', binary: false, added: 0, deleted: 0, hunks: [] };
    files.push(f);
    hunk = null;
    return f;
  };
  for (const line of lines) {
    // Inside a hunk, its counts say which lines belong to it: a removed line "-- x" is never taken for a header.
    if (hunk && file && (oldLeft > 0 || newLeft > 0)) {
      const h: Hunk = hunk;
      const f: DiffFile = file;
      const c = line[0];
      if (c === ' ' || (c === undefined && line === '')) {
        h.lines.push({ kind: 'ctx', text: line.slice(1), old: oldNo++, new: newNo++ });
        oldLeft--;
        newLeft--;
        continue;
      }
      if (c === '-') {
        h.lines.push({ kind: 'del', text: line.slice(1), old: oldNo++ });
        f.deleted++;
        oldLeft--;
        continue;
      }
      if (c === '+') {
        h.lines.push({ kind: 'add', text: line.slice(1), new: newNo++ });
        f.added++;
        newLeft--;
        continue;
      }
    }
    if (line.startsWith('\\')) {
      const last = hunk ? (hunk as Hunk).lines[(hunk as Hunk).lines.length - 1] : undefined;
      if (last) last.noNewline = true;
      continue;
    }
    if (line.startsWith('diff --git ')) {
      const [a, b] = gitHeaderPaths(line.slice(11));
      file = start(a, b);
      continue;
    }
    const m = HUNK.exec(line);
    if (m) {
      file ??= start('', '');
      const h: Hunk = { oldStart: +m[1]!, newStart: +m[3]!, section: m[5] ?? '', lines: [] };
      oldNo = h.oldStart;
      newNo = h.newStart;
      // "-0,0" (a new file's): no old lines; a missing count means one line.
      oldLeft = m[2] === undefined ? 1 : +m[2];
      newLeft = m[4] === undefined ? 1 : +m[4];
      if (oldLeft === 0) oldNo = h.oldStart + 1;
      if (newLeft === 0) newNo = h.newStart + 1;
      file.hunks.push(h);
      hunk = h;
      continue;
    }
    if (line.startsWith('--- ') && (!file || hunk || file.hunks.length === 0)) {
      // A plain diff (no "diff --git" line) starts its file here; after a hunk, so does the next file's.
      if (!file || hunk) file = start(side(line.slice(4)), '');
      else file.oldPath = side(line.slice(4));
      if (!file.oldPath && file.status === 'modified') file.status = 'added';
      continue;
    }
    if (!file) continue;
    const f: DiffFile = file;
    if (line.startsWith('+++ ')) {
      f.newPath = side(line.slice(4));
      if (!f.newPath) f.status = 'deleted';
      f.path = f.newPath || f.oldPath;
    } else if (line.startsWith('new file mode')) f.status = 'added';
    else if (line.startsWith('deleted file mode')) {
      f.status = 'deleted';
      f.path = f.oldPath;
    } else if (line.startsWith('rename from ')) {
      f.status = 'renamed';
      f.oldPath = unquotePath(line.slice(12));
    } else if (line.startsWith('rename to ')) {
      f.status = 'renamed';
      f.newPath = f.path = unquotePath(line.slice(10));
    } else if (line.startsWith('copy from ')) {
      f.status = 'copied';
      f.oldPath = unquotePath(line.slice(10));
    } else if (line.startsWith('copy to ')) {
      f.status = 'copied';
      f.newPath = f.path = unquotePath(line.slice(8));
    } else if (line.startsWith('old mode ')) f.mode = line.slice(9);
    else if (line.startsWith('new mode ')) f.mode = `${f.mode ?? '?'} → ${line.slice(9)}`;
    else if (line.startsWith('Binary files ') || line.startsWith('GIT binary patch')) f.binary = true;
  }
  for (const f of files) for (const h of f.hunks) pairWords(h.lines);
  return files;
}

// Word marks are a reading aid: a huge rewrite is shown by lines alone rather than keep a phone busy comparing words.
const WORD_BUDGET = 4_000_000;

/** Marks the words of each removed/added line pair (a run of removals followed by a run of additions, paired in order). */
export function pairWords(lines: NumberedLine[]): NumberedLine[] {
  let budget = WORD_BUDGET;
  let i = 0;
  while (i < lines.length) {
    if (lines[i]!.kind !== 'del') {
      i++;
      continue;
    }
    const dels = i;
    while (i < lines.length && lines[i]!.kind === 'del') i++;
    const adds = i;
    while (i < lines.length && lines[i]!.kind === 'add') i++;
    const pairs = Math.min(adds - dels, i - adds);
    for (let k = 0; k < pairs && budget > 0; k++) {
      budget -= (lines[dels + k]!.text.length + 1) * (lines[adds + k]!.text.length + 1) / 16;
      const words = wordDiff(lines[dels + k]!.text, lines[adds + k]!.text);
      if (words) [lines[dels + k]!.words, lines[adds + k]!.words] = words;
    }
  }
  return lines;
}

const TOKEN = /\w+|\s+|[^\w\s]/gu;
const WORD_LIMIT = 250_000; // cells of the token LCS; longer lines are shown changed whole

/**
 * The words that differ between two versions of a line, as segments of each; null when the lines share too little for
 * a word-level view to help (or are too long to compare), so the whole line reads as changed.
 */
export function wordDiff(before: string, after: string): [Segment[], Segment[]] | null {
  const a = before.match(TOKEN) ?? [];
  const b = after.match(TOKEN) ?? [];
  if (a.length * b.length > WORD_LIMIT) return null;
  const width = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * width + j] = a[i] === b[j] ? lcs[(i + 1) * width + j + 1]! + 1 : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
    }
  }
  const left: Segment[] = [];
  const right: Segment[] = [];
  const add = (out: Segment[], text: string, changed: boolean) => {
    const last = out[out.length - 1];
    if (last && last.changed === changed) last.text += text;
    else out.push({ text, changed });
  };
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      common += a[i]!.trim() ? a[i]!.length : 0;
      add(left, a[i++]!, false);
      add(right, b[j++]!, false);
    } else if (j >= b.length || (i < a.length && lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!)) {
      add(left, a[i++]!, true);
    } else {
      add(right, b[j++]!, true);
    }
  }
  // Less than a third of the visible text in common: mostly a different line, not an edit of this one.
  const visible = Math.max(before.replace(/\s/g, '').length, after.replace(/\s/g, '').length);
  if (visible === 0 || common * 3 < visible) return null;
  return [left, right];
}

/** Where an edit's old text sits in the file, as the server reads it when asking (approval.requested's editContext). */
export interface EditContext {
  /** The 1-based line where the replaced text starts. */
  line: number;
  /** Up to a few whole lines before that line, and after the line where the replaced text ends. */
  before: string[];
  after: string[];
  /** The rest of the first and last lines, around the replaced text. */
  prefix: string;
  suffix: string;
}

/** An edit preview as a numbered diff file: with the file's surrounding lines and true line numbers when context is known. */
/** approval.requested's editContext, when it has the shape the server sends (else none: the edit is shown alone). */
export function readEditContext(value: unknown): EditContext | null {
  const o = value as Record<string, unknown> | null;
  const lines = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (!o || typeof o !== 'object' || typeof o.line !== 'number' || o.line < 1 || !lines(o.before) || !lines(o.after)
    || typeof o.prefix !== 'string' || typeof o.suffix !== 'string') return null;
  return { line: o.line, before: o.before as string[], after: o.after as string[], prefix: o.prefix, suffix: o.suffix };
}

export function editFile(tool: string, input: unknown, context?: EditContext | null): DiffFile | null {
  const preview = editPreview(tool, input);
  if (!preview) return null;
  const o = input as Record<string, unknown>;
  let lines = preview.lines;
  let first = 1;
  let numbered = preview.created === true;
  // replace_all rewrites every occurrence: one occurrence among its file's lines would make it look local.
  const everywhere = o.replace_all === true;
  if (context && !everywhere && typeof o.old_string === 'string' && typeof o.new_string === 'string') {
    lines = [
      ...context.before.map((text): DiffLine => ({ op: ' ', text })),
      ...diffLines(context.prefix + o.old_string + context.suffix, context.prefix + o.new_string + context.suffix),
      ...context.after.map((text): DiffLine => ({ op: ' ', text })),
    ];
    first = Math.max(1, context.line - context.before.length);
    numbered = true;
  }
  let oldNo = first;
  let newNo = first;
  const numberedLines: NumberedLine[] = lines.map((l) => {
    if (l.op === '+') return { kind: 'add', text: l.text, ...(numbered ? { new: newNo++ } : {}) };
    if (l.op === '-') return { kind: 'del', text: l.text, ...(numbered ? { old: oldNo++ } : {}) };
    return { kind: 'ctx', text: l.text, ...(numbered ? { old: oldNo++, new: newNo++ } : {}) };
  });
  pairWords(numberedLines);
  return {
    path: preview.path, oldPath: preview.created ? '' : preview.path, newPath: preview.path, status: preview.created ? 'added' : 'modified', binary: false,
    added: lines.filter((l) => l.op === '+').length, deleted: lines.filter((l) => l.op === '-').length,
    // A new file is all additions: one hunk. An edit keeps a few lines around each change; long unchanged runs go.
    hunks: preview.created ? [{ oldStart: 0, newStart: 1, section: '', lines: numberedLines }] : splitHunks(numberedLines),
    ...(everywhere ? { note: 'Replaces every occurrence in the file, not only this one.' } : {}),
  };
}

/** Hunks of the changed lines with `context` unchanged lines around each; longer unchanged runs between them are left out. */
export function splitHunks(lines: NumberedLine[], context = 3): Hunk[] {
  const keep = lines.map(() => false);
  lines.forEach((line, index) => {
    if (line.kind === 'ctx') return;
    for (let k = Math.max(0, index - context); k <= Math.min(lines.length - 1, index + context); k++) keep[k] = true;
  });
  const hunks: Hunk[] = [];
  let current: Hunk | null = null;
  lines.forEach((line, index) => {
    if (!keep[index]) {
      current = null;
      return;
    }
    if (!current) {
      current = { oldStart: line.old ?? 0, newStart: line.new ?? 0, section: '', lines: [] };
      hunks.push(current);
    }
    current.lines.push(line);
  });
  return hunks;
}

/** Two texts (before, after) as one numbered diff file, e.g. a file on disk against the owner's draft. */
export function textsFile(path: string, before: string, after: string): DiffFile {
  let oldNo = 1;
  let newNo = 1;
  const lines = pairWords(diffLines(before, after).map((l): NumberedLine =>
    l.op === '+' ? { kind: 'add', text: l.text, new: newNo++ } : l.op === '-' ? { kind: 'del', text: l.text, old: oldNo++ } : { kind: 'ctx', text: l.text, old: oldNo++, new: newNo++ }));
  return {
    path, oldPath: path, newPath: path, status: 'modified', binary: false,
    added: lines.filter((l) => l.kind === 'add').length, deleted: lines.filter((l) => l.kind === 'del').length, hunks: splitHunks(lines),
  };
}
