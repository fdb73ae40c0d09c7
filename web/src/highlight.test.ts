import { describe, expect, it } from 'vitest';
import { highlightLines, languageFor, type Token, type TokenKind } from './highlight';

const joined = (line: Token[]) => line.map((t) => t.text).join('');
const kinds = (line: Token[]) => line.map((t) => t.kind);
/** The kind of the token holding `text` on a line (the first one whose text contains it). */
const kindOf = (line: Token[], text: string): TokenKind | undefined => line.find((t) => t.text.includes(text))?.kind;

function expectRoundTrip(source: string, language: string): Token[][] {
  const lines = highlightLines(source, language);
  const expected = source.split('\n');
  expect(lines.length).toBe(expected.length);
  lines.forEach((line, i) => {
    expect(joined(line)).toBe(expected[i]);
    // Adjacent tokens of one kind are merged, and no empty tokens are left behind.
    line.forEach((t, k) => {
      expect(t.text).not.toBe('');
      if (k) expect(t.kind).not.toBe(line[k - 1]!.kind);
    });
  });
  return lines;
}

const SAMPLES: Record<string, string> = {
  typescript: 'import { a } from "./a";\n/* block\n * comment */\nconst s = `x ${a + `in ${1}`} y\nz`;\nconst r = /[/"]+\\//g; // trailing\nclass Foo<T> extends Bar { type = 1; }\nconst n = 0x1f + 1_000 + .5e3;\n<div>{"</div>"}</div>',
  javascript: 'let x = "unterminated\nlet y = \'a\\\'b\';\n`open template ${\n',
  csharp: 'using System;\n#region x\nvar p = @"C:\\path\n""quoted""";\nvar q = $@"{x}";\nstring r = """\nraw\n""";\nchar c = \'\\\'\';\n/// doc\npublic record Point(int X, int Y);',
  python: '@decorator\ndef f(x: int) -> str:\n    """doc\n    string"""\n    s = f\'{x}\' # comment\n    return r"\\d"\n\'\'\'unterminated',
  json: '{\n  "a": [1, 2.5e-3, true, null],\n  "b\\"": {"c": "d"}\n}',
  css: '/* c */\n@media (max-width: 600px) {\n  a:hover { color: #fff !important; margin: -1px 2em; }\n}\n.x::before { content: "}"; }',
  html: '<!DOCTYPE html>\n<!-- a\ncomment -->\n<div class="a" data-x=\'1\' hidden id=main>\n<script>const s = "</div>"; // x\n</script><style>a { color: red }</style>\n<p>text & <b>bold</b></p><br/>\n<a href="unterminated>',
  xml: '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0"/></svg>',
  shell: '#!/bin/bash\nexport A="$HOME/x ${B}"\nif [ $# -gt 0 ]; then echo a#b \'it\'\\\'\'s\'; fi # done\nFROM node:20 AS build\nRUN apt-get update',
  markdown: '# Title\n\n- item with `code` and ``a ` b``\n> quote\n1. one\n\n```ts\nconst x = 1; /* open\n```\nafter\n~~~\nplain fence\n~~~\n```unknownlang\nx\n```\n```py\nunclosed',
  go: 'package main\nimport "fmt"\nfunc main() {\n\tr := `raw\nstring`\n\tfmt.Println(\'x\', r) // c\n}',
  rust: "fn f<'a>(x: &'a str) -> Option<u8> {\n    let c = '\\n'; let s = \"multi\nline\";\n    /* c */ x.len() as u8\n}",
  java: '@Override\npublic static void main(String[] args) {\n  String t = """\n    text block\n    """;\n}',
  c: '#include <stdio.h>\nint main(void) { printf("%d\\n", 42u); return 0; }',
  cpp: 'template <typename T> class V : public std::vector<T> {};\nauto x = nullptr;',
  yaml: '# c\nname: CI\non:\n  push:\n    branches: [main]\njobs:\n  - run: echo "hi: there" # x\n    url: http://x.test\n    ok: yes',
  toml: '[package]\nname = "x"\nversion = \'1.0\'\ndesc = """\nmulti\n"""\nflag = true # c',
  sql: "-- c\nSELECT a, COUNT(*) FROM t WHERE b = 'it''s\nmulti' /* c */ AND c IS NOT NULL;",
  ruby: "=begin\ndoc\n=end\ndef f(x)\n  puts \"hi #{x}\" # c\nend\nclass Foo; end",
};

describe('highlightLines', () => {
  it('joins back to exactly the source, line by line, in every language', () => {
    for (const [language, source] of Object.entries(SAMPLES)) expectRoundTrip(source, language);
  });

  it('keeps the round trip on random junk in every language', () => {
    const alphabet = ['"', "'", '`', '/', '*', '\\', '\n', '#', '$', '{', '}', '<', '>', '!', '-', '=', '@', '.', '1', 'a', 'if', ' ', '\r', '<!--', '-->', '```', '"""', 'é', '\t'];
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (const language of [...Object.keys(SAMPLES), 'nope']) {
      for (let round = 0; round < 40; round++) {
        let source = '';
        for (let k = 0; k < 60; k++) source += alphabet[Math.floor(random() * alphabet.length)];
        expectRoundTrip(source, language);
      }
    }
  });

  it('handles the empty file and an unknown language', () => {
    expect(highlightLines('', 'typescript')).toEqual([[]]);
    expect(highlightLines('a\n\nb', 'nope')).toEqual([[{ kind: 'plain', text: 'a' }], [], [{ kind: 'plain', text: 'b' }]]);
  });

  it('finds keywords, types, numbers and punctuation', () => {
    const [line] = highlightLines('export const x: Foo = 42;', 'typescript');
    expect(kindOf(line!, 'export')).toBe('keyword');
    expect(kindOf(line!, 'Foo')).toBe('type');
    expect(kindOf(line!, '42')).toBe('number');
    expect(kindOf(line!, ';')).toBe('punct');
    const [py] = highlightLines('def f(): return None', 'python');
    expect(kindOf(py!, 'def')).toBe('keyword');
    expect(kindOf(py!, 'None')).toBe('keyword');
    const [sql] = highlightLines('select * From t', 'sql');
    expect(kindOf(sql!, 'From')).toBe('keyword');
  });

  it('treats a keyword after a dot as a member name', () => {
    const [line] = highlightLines('node.type = x.default;', 'typescript');
    expect(kindOf(line!, 'type')).toBe('plain');
    expect(kindOf(line!, 'default')).toBe('plain');
  });

  it('carries a block comment across lines', () => {
    const lines = highlightLines('a;\nb;\nc; /* open\nall comment\nclosed */ d;', 'csharp');
    expect(kinds(lines[3]!)).toEqual(['comment']);
    expect(lines[4]![0]).toEqual({ kind: 'comment', text: 'closed */' });
    expect(lines[4]!.at(-2)).toEqual({ kind: 'plain', text: ' d' });
  });

  it('carries template strings and their interpolations across lines', () => {
    const lines = highlightLines('const s = `one\ntwo ${n + 1} three\nfour`; if', 'typescript');
    expect(kinds(lines[1]!)[0]).toBe('string');
    expect(kindOf(lines[1]!, 'n')).toBe('plain');
    expect(kindOf(lines[1]!, '1')).toBe('number');
    expect(kindOf(lines[1]!, ' three')).toBe('string');
    expect(lines[2]![0]).toEqual({ kind: 'string', text: 'four`' });
    expect(kindOf(lines[2]!, 'if')).toBe('keyword');
  });

  it('carries python triple-quoted strings across lines', () => {
    const lines = highlightLines('x = """one\ntwo # not a comment\n"""\n# comment', 'python');
    expect(kinds(lines[1]!)).toEqual(['string']);
    expect(kinds(lines[3]!)).toEqual(['comment']);
  });

  it('does not end a string at an escaped quote', () => {
    const [line] = highlightLines('s = "a\\"b" + 1', 'javascript');
    expect(line).toContainEqual({ kind: 'string', text: '"a\\"b"' });
    expect(kindOf(line!, '1')).toBe('number');
    const [sql] = highlightLines("'it''s' or", 'sql');
    expect(sql![0]).toEqual({ kind: 'string', text: "'it''s'" });
  });

  it('ends a plain string at the end of its line', () => {
    const lines = highlightLines('x = "open\nif', 'javascript');
    expect(kindOf(lines[1]!, 'if')).toBe('keyword');
  });

  it('tells regex literals from division', () => {
    const [re] = highlightLines('x = /"[/]"/g;', 'javascript');
    expect(kindOf(re!, '/"[/]"/g')).toBe('string');
    const [div] = highlightLines('x = a / b / "c"', 'javascript');
    expect(kindOf(div!, 'b')).toBe('plain');
  });

  it('returns markup as plain token text, never as HTML', () => {
    const source = 'const s = "<script>alert(1)</script>";';
    const [line] = highlightLines(source, 'javascript');
    expect(line).toContainEqual({ kind: 'string', text: '"<script>alert(1)</script>"' });
    expect(joined(line!)).toBe(source);
  });

  it('colours HTML tags, attributes, values and comments', () => {
    const lines = highlightLines('<!-- c -->\n<a href="x" hidden>t</a>\n<script>if (a < b) x = "</p>";</script>', 'html');
    expect(kinds(lines[0]!)).toEqual(['comment']);
    expect(kindOf(lines[1]!, 'a')).toBe('keyword');
    expect(kindOf(lines[1]!, 'href')).toBe('type');
    expect(kindOf(lines[1]!, '"x"')).toBe('string');
    expect(kindOf(lines[1]!, 't')).toBe('plain');
    expect(kindOf(lines[2]!, 'if')).toBe('keyword');
    expect(kindOf(lines[2]!, '"</p>"')).toBe('string');
  });

  it('colours markdown headings, code spans and fenced code', () => {
    const lines = highlightLines('# Title\nuse `npm test` now\n```ts\nconst a = 1;\n```', 'markdown');
    expect(kinds(lines[0]!)).toEqual(['keyword']);
    expect(kindOf(lines[1]!, '`npm test`')).toBe('string');
    expect(kindOf(lines[3]!, 'const')).toBe('keyword');
  });

  it('colours keys in JSON, YAML, TOML and properties in CSS', () => {
    expect(kindOf(highlightLines('{"k": "v"}', 'json')[0]!, '"k"')).toBe('type');
    expect(kindOf(highlightLines('{"k": "v"}', 'json')[0]!, '"v"')).toBe('string');
    expect(kindOf(highlightLines('on: push', 'yaml')[0]!, 'on')).toBe('type');
    expect(kindOf(highlightLines('name = "x"', 'toml')[0]!, 'name')).toBe('type');
    const [css] = highlightLines('a:hover { color: red }', 'css');
    expect(kindOf(css!, 'a')).toBe('plain');
    expect(kindOf(css!, 'color')).toBe('type');
  });

  it('round-trips a 1 MB file', () => {
    const chunk = Object.values(SAMPLES).join('\n');
    const source = chunk.repeat(Math.ceil(1_000_000 / chunk.length));
    expect(source.length).toBeGreaterThanOrEqual(1_000_000);
    for (const language of ['typescript', 'html', 'markdown']) {
      const lines = highlightLines(source, language);
      expect(lines.map(joined)).toEqual(source.split('\n'));
    }
  });

  it('stays linear on pathological input', () => {
    // Unclosed constructs repeated many times: each must be scanned once, not once per opener.
    for (const [language, unit] of [['javascript', '(/['], ['html', '<a b="'], ['markdown', '`` `'], ['python', "'''"], ['shell', '${']] as const) {
      const source = unit.repeat(200_000);
      expect(highlightLines(source, language).map(joined).join('\n')).toBe(source);
    }
  });
});

describe('languageFor', () => {
  it('knows files by extension', () => {
    expect(languageFor('a/b/c.test.tsx')).toBe('typescript');
    expect(languageFor('x.mjs')).toBe('javascript');
    expect(languageFor('src\\Program.cs')).toBe('csharp');
    expect(languageFor('README.MD')).toBe('markdown');
    expect(languageFor('icon.svg')).toBe('xml');
    expect(languageFor('ci.yml')).toBe('yaml');
  });

  it('knows well-known names', () => {
    expect(languageFor('Dockerfile')).toBe('shell');
    expect(languageFor('docker/Dockerfile.dev')).toBe('shell');
    expect(languageFor('Makefile')).toBe('shell');
    expect(languageFor('Gemfile')).toBe('ruby');
  });

  it('returns null for unknown files', () => {
    expect(languageFor('photo.png')).toBeNull();
    expect(languageFor('LICENSE')).toBeNull();
    expect(languageFor('.hidden')).toBeNull();
  });
});
