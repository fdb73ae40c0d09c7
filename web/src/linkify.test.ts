import { describe, expect, it } from 'vitest';
import { linkParts } from './linkify';

describe('the owner\'s own message', () => {
  it('keeps the text as typed, indentation and markdown signs included', () => {
    const typed = 'run this:\n    cd web\n    npm test -- *stars* and `ticks`';
    expect(linkParts(typed)).toEqual([typed]);
  });

  it('makes each web address a link, leaving the sentence\'s punctuation out of it', () => {
    expect(linkParts('see https://example.com/a?b=1, and (http://localhost:7420/x).')).toEqual([
      'see ', { href: 'https://example.com/a?b=1' }, ', and (', { href: 'http://localhost:7420/x' }, ').',
    ]);
  });

  it('links only http and https', () => {
    expect(linkParts('javascript:alert(1) file:///etc/passwd')).toEqual(['javascript:alert(1) file:///etc/passwd']);
  });
});
