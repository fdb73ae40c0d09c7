// Read aloud (issue #55): the agent's latest reply, or a waiting call's one line, spoken by the platform's own speech
// synthesis (speechSynthesis: nothing is sent anywhere by PocketCoder). Turned on per device, kept on the device.

const SETTING_KEY = 'pocketcoder.readAloud';

/** Whether this browser has speech synthesis at all. */
export function speechSupported(): boolean {
  return typeof window !== 'undefined' && 'speechSynthesis' in window && typeof window.SpeechSynthesisUtterance === 'function';
}

export function readAloudOn(): boolean {
  try {
    return localStorage.getItem(SETTING_KEY) === '1';
  } catch {
    return false;
  }
}

export function setReadAloud(on: boolean): void {
  try {
    if (on) localStorage.setItem(SETTING_KEY, '1');
    else localStorage.removeItem(SETTING_KEY);
  } catch {
    // Storage disabled: the setting cannot be kept, and stays off.
  }
}

/** Speaks `text` at once, cutting off whatever this page was saying. False: no synthesis here, or nothing to say. */
export function speak(text: string): boolean {
  if (!speechSupported() || !text.trim()) return false;
  window.speechSynthesis.cancel();
  window.speechSynthesis.speak(new SpeechSynthesisUtterance(text));
  return true;
}

const SENTENCE_END = /[.!?:;…]$/;

/** A link read as where it leads ("a link to example.com"), never letter by letter. */
function spokenUrl(url: string): string {
  try {
    return `a link to ${new URL(url).hostname.replace(/^www\./, '')}`;
  } catch {
    return 'a link';
  }
}

/** One line of markdown without its markup: what is left is what a person would read out. */
function plainLine(line: string): string {
  return line
    .replace(/^\s{0,3}#{1,6}\s+/, '')
    .replace(/^\s*>\s?/, '')
    .replace(/^\s*(?:[-*+]|\d{1,3}[.)])\s+(?:\[[ xX]\]\s+)?/, '')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\((?:[^)]*)\)/g, '$1')
    .replace(/`+([^`]+?)`+/g, '$1')
    .replace(/<\/?[a-zA-Z][^>]*>/g, '')
    .replace(/https?:\/\/[^\s)>\]]+/g, spokenUrl)
    .replace(/(\*\*|__)(?=\S)(.+?)(?<=\S)\1/g, '$2')
    .replace(/(^|[^\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?!\w)/g, '$1$2')
    .replace(/(^|[^\w])_(?=\S)([^_]+?)(?<=\S)_(?!\w)/g, '$1$2')
    .replace(/~~(.+?)~~/g, '$1')
    .replace(/\s*\|\s*/g, ', ')
    .replace(/^,\s*|,\s*$/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Markdown as plain text to speak: markup gone, a fenced code block said as such ("Code block, 12 lines.") rather than
 * read symbol by symbol, tables' rule lines and horizontal rules dropped, each paragraph, heading and list item ended as
 * a sentence so the voice pauses between them.
 */
export function plainText(markdown: string): string {
  const out: string[] = [];
  let fence: string | null = null;
  let codeLines = 0;
  for (const line of markdown.replace(/\r\n?/g, '\n').split('\n')) {
    const opens = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence !== null) {
      if (opens && opens[1]!.startsWith(fence)) {
        out.push(`Code block, ${codeLines} line${codeLines === 1 ? '' : 's'}.`);
        fence = null;
      } else codeLines++;
      continue;
    }
    if (opens) {
      fence = opens[1]!;
      codeLines = 0;
      continue;
    }
    if (/^\s*(?:[-*_]\s*){3,}$/.test(line) || /^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(line)) continue;
    const text = plainLine(line);
    if (text) out.push(SENTENCE_END.test(text) ? text : `${text}.`);
  }
  // A reply cut off inside a code block still says there was code.
  if (fence !== null) out.push(`Code block, ${codeLines} line${codeLines === 1 ? '' : 's'}.`);
  return out.join(' ');
}

/** A waiting call in one line: what it wants, its title as the server worded it, cut at a breath's length. */
export function callSummary(title: string): string {
  const line = title.replace(/\s+/g, ' ').trim();
  return `Waiting for you: ${line.length > 200 ? `${line.slice(0, 199)}…` : line}`;
}
