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
