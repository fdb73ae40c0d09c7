// Syntax highlighting for the file screen. Loaded lazily, so it imports nothing from the app.
// Output is plain-text tokens only: the caller renders each as a text node, so file content can never become markup.
// Every scanner walks the source once, left to right, and each regex is sticky and anchored with no nested
// quantifiers, so time stays linear even on huge or hostile files.

export type TokenKind = 'keyword' | 'string' | 'comment' | 'number' | 'type' | 'punct' | 'plain';
export interface Token { kind: TokenKind; text: string }

interface Spec {
  kw: Set<string>;
  types?: Set<string>;
  line?: string[];
  block?: [string, string];
  /** Quote char -> flags: e backslash escapes, m may span lines, d doubled quote escapes, t triple form, i `${}` interpolation. */
  str: Record<string, string>;
  word?: RegExp;
  /** Capitalised words (not ALL_CAPS constants) are types: cheap, and right for most class-based languages. */
  caps?: boolean;
  ci?: boolean;
  regex?: boolean;
  hash?: boolean;
  vars?: boolean;
  chr?: boolean;
  verbatim?: boolean;
  at?: TokenKind;
  /** A word or string followed by this is a key (JSON/YAML/TOML keys, CSS properties). */
  key?: RegExp;
  /** Only after one of these chars may `key` apply (CSS: properties follow `{` or `;`, selectors do not). */
  keyAfter?: string;
}

const words = (s: string) => new Set(s.split(' '));
const C_LIKE = 'break case continue default do else for if return switch while true false ';
const OOP = C_LIKE + 'abstract catch class const enum finally interface new private protected public static this throw try ';
const SLASH = { line: ['//'], block: ['/*', '*/'] as [string, string] };
const HASH = { line: ['#'] };
const QUOTES = { '"': 'e', "'": 'e' };

const JS: Spec = {
  ...SLASH,
  kw: words(OOP + 'delete export extends function import in instanceof let of super typeof var void yield async await null undefined as type implements readonly declare namespace keyof from'),
  types: words('string number boolean any unknown never object'),
  str: { ...QUOTES, '`': 'i' },
  word: /[A-Za-z_$][\w$]*/y,
  caps: true, regex: true, at: 'type',
};

const C: Spec = {
  ...SLASH,
  kw: words(OOP + 'auto extern goto inline sizeof struct typedef union volatile namespace template typename virtual override using operator constexpr nullptr NULL'),
  types: words('void char short int long float double signed unsigned bool size_t std string'),
  str: QUOTES, caps: true, hash: true,
};

const SPECS: Record<string, Spec> = {
  typescript: JS,
  javascript: JS,
  c: C,
  cpp: C,
  csharp: {
    ...SLASH,
    kw: words(OOP + 'as base delegate event foreach in internal is lock namespace null operator out override params readonly ref sealed sizeof struct typeof using virtual async await var get set init record when where yield nameof partial'),
    types: words('bool byte char decimal double float int long object short string uint ulong void'),
    str: { '"': 'et', "'": 'e' }, caps: true, hash: true, verbatim: true,
  },
  java: {
    ...SLASH,
    kw: words(OOP + 'assert extends final implements import instanceof package super synchronized throws null var record'),
    types: words('boolean byte char double float int long short void'),
    str: { '"': 'et', "'": 'e' }, caps: true, at: 'type',
  },
  go: {
    ...SLASH,
    kw: words(C_LIKE + 'chan const defer func go import interface map package range select struct type var nil'),
    types: words('bool byte error float32 float64 int int32 int64 rune string uint uint8 uint32 uint64 any'),
    str: { ...QUOTES, '`': 'm' },
  },
  rust: {
    ...SLASH,
    kw: words(C_LIKE + 'as async await const crate dyn enum fn impl in let loop match mod move mut pub ref self Self static struct trait type unsafe use where'),
    types: words('bool char str u8 u16 u32 u64 usize i8 i16 i32 i64 isize f32 f64'),
    str: { '"': 'em' }, caps: true, chr: true,
  },
  python: {
    ...HASH,
    kw: words('and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield None True False self'),
    types: words('int str float bool list dict set tuple bytes object'),
    str: { '"': 'et', "'": 'et' }, caps: true, at: 'type',
  },
  ruby: {
    ...HASH, block: ['=begin', '=end'],
    kw: words('and begin break case class def do else elsif end ensure false for if in module next nil not or rescue return self super then true unless until when while yield require'),
    str: { '"': 'em', "'": 'em' }, caps: true,
  },
  shell: {
    ...HASH,
    // Dockerfile instructions ride along: upper case, so they never clash with shell words.
    kw: words('if then else elif fi for while until do done case esac function in return export local unset shift exit source FROM AS RUN CMD COPY ADD ENV ARG WORKDIR EXPOSE ENTRYPOINT USER LABEL VOLUME'),
    str: { '"': 'em', "'": 'm', '`': 'em' }, vars: true,
  },
  sql: {
    line: ['--'], block: SLASH.block,
    kw: words('select from where insert into values update set delete create table drop alter add index view join inner left right outer on as and or not null is in exists between like order by group having limit offset union all distinct case when then else end primary key foreign references default unique begin commit rollback with returning asc desc true false'),
    types: words('int integer bigint text varchar char boolean date timestamp real float double numeric decimal serial uuid json'),
    str: { "'": 'dm', '"': 'd' }, ci: true,
  },
  json: { ...SLASH, kw: words('true false null'), str: { '"': 'e' }, key: /\s*:/y },
  yaml: { ...HASH, kw: words('true false null yes no on off'), str: { '"': 'e', "'": 'd' }, word: /[A-Za-z_][\w.-]*/y, key: /[ \t]*:(?=\s|$)/y, ci: true },
  toml: { ...HASH, kw: words('true false'), str: { '"': 'et', "'": 't' }, word: /[A-Za-z_][\w-]*/y, key: /[ \t]*=/y },
  css: {
    block: SLASH.block, kw: words('important inherit initial none auto'), str: QUOTES,
    word: /-?[A-Za-z_][\w-]*/y, at: 'keyword', key: /[ \t]*:/y, keyAfter: '{;',
  },
};

const EXTENSIONS: Record<string, string> = {};
for (const group of [
  'typescript ts tsx mts cts', 'javascript js jsx mjs cjs', 'csharp cs csx', 'python py pyw pyi', 'json json jsonc json5 webmanifest',
  'css css scss less', 'html html htm vue svelte', 'xml xml svg xsd xsl xaml csproj props targets plist', 'shell sh bash zsh ksh fish env dockerfile',
  'markdown md markdown mdx', 'go go', 'rust rs', 'java java', 'c c h', 'cpp cpp cc cxx hpp hh hxx', 'yaml yaml yml', 'toml toml', 'sql sql', 'ruby rb rake gemspec',
]) {
  const [language, ...exts] = group.split(' ');
  for (const ext of exts) EXTENSIONS[ext] = language!;
}
const NAMES: Record<string, string> = {
  dockerfile: 'shell', makefile: 'shell', gnumakefile: 'shell', '.bashrc': 'shell', '.zshrc': 'shell', '.profile': 'shell',
  '.gitignore': 'shell', '.env': 'shell', gemfile: 'ruby', rakefile: 'ruby',
};

/** The language for a file name (by extension or well-known name like Dockerfile, Makefile), or null when none is known. */
export function languageFor(path: string): string | null {
  const base = (path.split(/[\\/]/).pop() ?? '').toLowerCase();
  if (NAMES[base]) return NAMES[base]!;
  if (base.startsWith('dockerfile')) return 'shell';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? EXTENSIONS[base.slice(dot + 1)] ?? null : null;
}

/** A markdown fence's info string, as a language: full names and extensions both work (```ts, ```python). */
export function resolve(name: string): string | null {
  const n = name.toLowerCase();
  return SPECS[n] || n === 'html' || n === 'xml' || n === 'markdown' ? n : EXTENSIONS[n] ?? NAMES[n] ?? null;
}

/** Appends, merging with the previous token when the kind matches, to keep the DOM small. */
function push(out: Token[], kind: TokenKind, text: string): void {
  if (!text) return;
  const last = out[out.length - 1];
  if (last?.kind === kind) last.text += text;
  else out.push({ kind, text });
}

/** The end of the string whose quote is at `i` (clamped to the source, so unterminated strings run to the end). */
function stringEnd(src: string, i: number, q: string, flags: string): number {
  const esc = flags.includes('e');
  const triple = q + q + q;
  if (flags.includes('t') && src.startsWith(triple, i)) {
    let j = i + 3;
    while (j < src.length && !src.startsWith(triple, j)) j += esc && src[j] === '\\' ? 2 : 1;
    return Math.min(j + 3, src.length);
  }
  let j = i + 1;
  while (j < src.length) {
    const c = src[j];
    if (esc && c === '\\') j += 2;
    else if (c === q) {
      if (!flags.includes('d') || src[j + 1] !== q) return j + 1;
      j += 2;
    } else if (c === '\n' && !flags.includes('m')) return j;
    else j++;
  }
  return src.length;
}

const WS = /\s+/y;
const WORD = /[A-Za-z_]\w*/y;
// Every part after the digits is optional, so the first greedy attempt always matches: no backtracking.
const NUM = /(?:0[xob][\da-f_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:e[+-]?\d+)?)[\w%]*/iy;
// The alternatives start with distinct chars, so a failed attempt costs one pass over the line.
const REGEX = /\/(?![*/])(?:[^\\/\n[]|\\.|\[(?:[^\\\]\n]|\\.)*\])+\/[a-z]*/y;
const VERBATIM = /(?:\$@|@\$?)"/y;
const CHAR = /'(?:\\[^'\n]*|[^\\'\n])'/y;
// Bounded, so a file full of unclosed `${` is not rescanned to the end of the line at each one.
const VAR = /\$(?:\w+|[#?@*!$-]|\{[^}\n]{0,99}\})/y;
const AT = /@[\w-]+/y;
const DIRECTIVE = /#[ \t]*\w+/y;
const PUNCT = '{}()[];,.<>=+-*/%!&|^~?:';

const match = (re: RegExp, src: string, i: number): number => {
  re.lastIndex = i;
  return re.test(src) ? re.lastIndex : -1;
};

/** The table-driven tokenizer for every code-like language. */
function scan(src: string, s: Spec, out: Token[]): void {
  const n = src.length;
  // One entry per open `${` in a template string: how many `{` are open inside it.
  const braces: number[] = [];
  let i = 0;
  // Declared as string, not TokenKind | '', so TS does not narrow it to '' (it is assigned inside emit).
  let lastKind: string = '';
  let lastCh = '';
  // After a failed regex-literal attempt the rest of its line is division: a line of unclosed `/[` stays linear.
  let regexFrom = 0;
  const emit = (kind: TokenKind, end: number, track = true) => {
    const text = src.slice(i, end);
    push(out, kind, text);
    if (track) [lastKind, lastCh] = [kind, text[text.length - 1]!];
    i = end;
  };
  const keyed = (end: number) => !!s.key && (!s.keyAfter || (!!lastCh && s.keyAfter.includes(lastCh))) && match(s.key, src, end) >= 0;
  // Resumes a template string at `from` (after the backtick or an interpolation's `}`).
  const template = (from: number) => {
    let j = from;
    while (j < n && src[j] !== '`' && !(src[j] === '$' && src[j + 1] === '{')) j += src[j] === '\\' ? 2 : 1;
    if (j >= n || src[j] === '`') return emit('string', Math.min(j + 1, n));
    emit('string', j);
    emit('punct', j + 2);
    braces.push(0);
  };

  while (i < n) {
    const c = src[i]!;
    let end: number;
    if (c <= ' ' && (end = match(WS, src, i)) > 0) emit('plain', end, false);
    // Ruby's =begin only counts at the start of a line.
    else if (s.block && src.startsWith(s.block[0], i) && (c !== '=' || i === 0 || src[i - 1] === '\n')) {
      const close = src.indexOf(s.block[1], i + s.block[0].length);
      emit('comment', close < 0 ? n : close + s.block[1].length, false);
    }
    // `#` inside a word is not a comment (shell's a#b, $#).
    else if (s.line?.some((p) => src.startsWith(p, i)) && !(c === '#' && /\w/.test(src[i - 1] ?? ''))) {
      const close = src.indexOf('\n', i);
      emit('comment', close < 0 ? n : close, false);
    } else if (s.verbatim && (end = match(VERBATIM, src, i)) > 0) emit('string', stringEnd(src, end - 1, '"', 'dm'));
    else if (s.str[c]?.includes('i')) template(i + 1);
    else if (c === '}' && braces.length && braces[braces.length - 1] === 0) {
      braces.pop();
      emit('punct', i + 1);
      template(i);
    } else if (s.chr && c === "'") emit((end = match(CHAR, src, i)) > 0 ? 'string' : 'punct', Math.max(end, i + 1));
    else if (s.str[c] !== undefined) {
      end = stringEnd(src, i, c, s.str[c]!);
      emit(keyed(end) ? 'type' : 'string', end);
    } else if (s.regex && c === '/' && i >= regexFrom && (!lastCh || lastKind === 'keyword' || (lastKind === 'punct' && !')]<'.includes(lastCh)))) {
      if ((end = match(REGEX, src, i)) < 0) regexFrom = src.indexOf('\n', i) >>> 0;
      emit(end > 0 ? 'string' : 'punct', Math.max(end, i + 1));
    } else if (s.hash && c === '#' && (end = match(DIRECTIVE, src, i)) > 0) emit('keyword', end);
    else if (s.vars && c === '$' && (end = match(VAR, src, i)) > 0) emit('type', end);
    else if (s.at && c === '@' && (end = match(AT, src, i)) > 0) emit(s.at, end);
    else if ((c >= '0' && c <= '9') || (c === '.' && /\d/.test(src[i + 1] ?? ''))) emit('number', match(NUM, src, i));
    else if ((end = match(s.word ?? WORD, src, i)) > 0) emit(classify(src.slice(i, end), s, lastCh === '.', keyed(end)), end);
    else {
      if (braces.length && (c === '{' || c === '}')) braces[braces.length - 1]! += c === '{' ? 1 : -1;
      emit(PUNCT.includes(c) ? 'punct' : 'plain', i + 1);
    }
  }
}

function classify(word: string, s: Spec, afterDot: boolean, key: boolean): TokenKind {
  if (key) return 'type';
  const w = s.ci ? word.toLowerCase() : word;
  // After a dot it is a member name (x.type, x.default), whatever the keyword table says.
  if (!afterDot && s.kw.has(w)) return 'keyword';
  return s.types?.has(w) || (s.caps && /^[A-Z]/.test(word) && /[a-z]/.test(word)) ? 'type' : 'plain';
}

const TAG = /<(\/|!|\?)?([A-Za-z][\w:.-]*)/y;
const ATTR = /[^\s"'<>/=]+/y;
const VALUE = /[^\s"'<>=`]+/y;

/** HTML, XML and SVG. Script and style bodies are handed to the JS and CSS tokenizers. */
function markup(src: string, out: Token[]): void {
  const n = src.length;
  let i = 0;
  const emit = (kind: TokenKind, end: number) => {
    push(out, kind, src.slice(i, end));
    i = end;
  };
  const until = (close: string, from: number) => {
    const at = src.indexOf(close, from);
    return at < 0 ? n : at + close.length;
  };
  while (i < n) {
    const lt = src.indexOf('<', i);
    emit('plain', lt < 0 ? n : lt);
    if (i >= n) break;
    if (src.startsWith('<!--', i)) { emit('comment', until('-->', i + 4)); continue; }
    TAG.lastIndex = i;
    const tag = TAG.exec(src);
    if (!tag) { emit('plain', i + 1); continue; }
    emit('punct', i + 1 + (tag[1]?.length ?? 0));
    emit('keyword', TAG.lastIndex);
    let afterEq = false;
    // A `<` ends the tag too, so one missing `>` cannot swallow the rest of the file.
    while (i < n && src[i] !== '>' && src[i] !== '<') {
      const c = src[i]!;
      let end: number;
      if (c === '"' || c === "'") emit('string', until(c, i + 1));
      else if ((end = match(WS, src, i)) > 0) { emit('plain', end); continue; }
      else if (afterEq && (end = match(VALUE, src, i)) > 0) emit('string', end);
      else if ((end = match(ATTR, src, i)) > 0) emit('type', end);
      else emit('punct', i + 1);
      afterEq = c === '=';
    }
    if (i < n && src[i] === '>') emit('punct', i + 1);
    const name = tag[2]!.toLowerCase();
    if (!tag[1] && (name === 'script' || name === 'style') && src[i - 2] !== '/') {
      const close = new RegExp('</' + name, 'ig');
      close.lastIndex = i;
      const end = close.exec(src)?.index ?? n;
      run(src.slice(i, end), name === 'script' ? 'javascript' : 'css', out);
      i = end;
    }
  }
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const LEAD = /^[ \t]*(?:(?:>|(?:[*+-]|\d+[.)])(?=[ \t]|$))[ \t]*)*/;

/** Markdown by line: headings, list/quote markers, code spans, and fenced blocks highlighted in their own language. */
function markdown(src: string, out: Token[]): void {
  const lines = src.split('\n');
  for (let k = 0; k < lines.length; k++) {
    if (k) push(out, 'plain', '\n');
    const line = lines[k]!;
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1]!;
      let e = k + 1;
      while (e < lines.length && !closesFence(lines[e]!, marker)) e++;
      push(out, 'punct', line);
      if (e > k + 1) {
        push(out, 'plain', '\n');
        const language = fence[2] ? resolve(fence[2]) : null;
        const body = lines.slice(k + 1, e).join('\n');
        if (language) run(body, language, out);
        else push(out, 'string', body);
      }
      if (e < lines.length) {
        push(out, 'plain', '\n');
        push(out, 'punct', lines[e]!);
      }
      k = e;
    } else if (/^ {0,3}#{1,6}(\s|$)/.test(line)) push(out, 'keyword', line);
    else {
      const lead = LEAD.exec(line)![0];
      push(out, 'punct', lead);
      codeSpans(line.slice(lead.length), out);
    }
  }
}

function closesFence(line: string, marker: string): boolean {
  const m = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
  return !!m && m[1]![0] === marker[0] && m[1]!.length >= marker.length;
}

function codeSpans(text: string, out: Token[]): void {
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('`', i);
    if (open < 0) break;
    let ticks = open;
    while (text[ticks] === '`') ticks++;
    const fence = text.slice(open, ticks);
    const close = text.indexOf(fence, ticks);
    if (close < 0) {
      push(out, 'plain', text.slice(i, ticks));
      i = ticks;
      continue;
    }
    push(out, 'plain', text.slice(i, open));
    push(out, 'string', text.slice(open, close + fence.length));
    i = close + fence.length;
  }
  push(out, 'plain', text.slice(i));
}

function run(src: string, language: string, out: Token[]): void {
  if (language === 'html' || language === 'xml') markup(src, out);
  else if (language === 'markdown') markdown(src, out);
  else if (SPECS[language]) scan(src, SPECS[language]!, out);
  else push(out, 'plain', src);
}

/** Tokens per line: result[i] is line i's tokens; joining every token's text of line i gives exactly line i of `source.split('\n')`. */
export function highlightLines(source: string, language: string): Token[][] {
  const tokens: Token[] = [];
  run(source, language, tokens);
  // A tokenizer bug must never lose or duplicate text on screen: fall back to plain rather than show wrong code.
  if (tokens.reduce((sum, t) => sum + t.text.length, 0) !== source.length) tokens.splice(0, tokens.length, { kind: 'plain', text: source });
  const lines: Token[][] = [[]];
  for (const { kind, text } of tokens) {
    text.split('\n').forEach((part, k) => {
      if (k) lines.push([]);
      if (part) lines[lines.length - 1]!.push({ kind, text: part });
    });
  }
  return lines;
}
