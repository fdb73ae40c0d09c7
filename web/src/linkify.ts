/** A piece of the owner's own message: its text as typed, or a web address in it (to be shown as a link). */
export type TextPart = string | { href: string };

// An address runs to the next space; punctuation that ends the sentence around it is not part of it.
const ADDRESS = /\bhttps?:\/\/[^\s<>"'`]+/g;
const TRAILING = /[.,;:!?'")\]]+$/;

/**
 * The owner's message split into plain text and web addresses. Their words are shown as typed (never read as markdown, so a
 * command's indentation stays), with only the addresses made links.
 */
export function linkParts(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let at = 0;
  for (const match of text.matchAll(ADDRESS)) {
    const href = match[0].replace(TRAILING, '');
    if (!URL.canParse(href)) continue;
    const start = match.index;
    if (start > at) parts.push(text.slice(at, start));
    parts.push({ href });
    at = start + href.length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}
