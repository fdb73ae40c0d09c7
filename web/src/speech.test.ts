import { describe, expect, it } from 'vitest';
import { callSummary, plainText } from './speech';

describe('plainText', () => {
  it('drops markup and says a code block as such', () => {
    const reply = [
      '## Fixed the **build**',
      '',
      'The `parse` step failed on _empty_ input; see [the docs](https://docs.example.com/parse).',
      '',
      '```ts',
      'const x = parse("");',
      'if (!x) throw new Error("empty");',
      '```',
      '',
      '- Ran `npm test`',
      '- 1. All green',
      '',
      '---',
      '| file | lines |',
      '|---|---:|',
      '| a.ts | 12 |',
    ].join('\n');
    expect(plainText(reply)).toBe(
      'Fixed the build. The parse step failed on empty input; see the docs. Code block, 2 lines. Ran npm test. 1. All green. '
      + 'file, lines. a.ts, 12.',
    );
  });

  it('keeps snake_case and arithmetic, reads a bare link as its host', () => {
    expect(plainText('Set max_retries to 2*3 at https://www.example.org/a?b=c')).toBe('Set max_retries to 2*3 at a link to example.org.');
  });

  it('says an unclosed code block too', () => {
    expect(plainText('Here:\n~~~\nrm -rf build')).toBe('Here: Code block, 1 line.');
  });
});

describe('callSummary', () => {
  it('is one line, cut at a breath', () => {
    expect(callSummary('Bash:\n  npm   test')).toBe('Waiting for you: Bash: npm test');
    expect(callSummary('x'.repeat(300)).length).toBe('Waiting for you: '.length + 200);
  });
});
