// An event stream from another machine the app added. EventSource cannot send a header, and that machine's token must
// never be in a URL, so this reads the stream with fetch (Authorization: Bearer) and parses it as EventSource would,
// behind the same EventSourceLike: ResumableStream resumes it by its own cursor (`?after=`) exactly as it does the home one.

import type { EventSourceLike, StreamEnvironment } from './events';
import { browserEnvironment } from './events';
import { toApiError } from './api';

type Listener = (event: MessageEvent) => void;

/** One parsed frame: its event name, its data (lines joined), and the last id seen so far (as EventSource keeps it). */
export interface SseFrame { event: string; data: string; lastEventId: string }

/**
 * Splits text/event-stream text into frames. Feed it chunks as they come; it returns the frames completed so far and
 * keeps the rest. Comments (`:`) and frames without data are skipped, as EventSource skips them.
 */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private lastId = '';

  push(chunk: string): SseFrame[] {
    this.buffer += chunk;
    const frames: SseFrame[] = [];
    let newline: number;
    while ((newline = this.buffer.search(/\r\n|\n|\r/)) >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + (this.buffer.startsWith('\r\n', newline) ? 2 : 1));
      const frame = this.line(line);
      if (frame) frames.push(frame);
    }
    return frames;
  }

  private line(line: string): SseFrame | null {
    if (line === '') {
      const frame = this.data.length > 0 ? { event: this.event || 'message', data: this.data.join('\n'), lastEventId: this.lastId } : null;
      this.event = '';
      this.data = [];
      return frame;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1));
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    return null;
  }
}

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** An EventSource over fetch: opens once (no retry of its own: ResumableStream reconnects with its cursor), then reads. */
export class FetchEventSource implements EventSourceLike {
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  private readonly listeners = new Map<string, Listener[]>();
  private readonly abort = new AbortController();

  /** @param onUnauthorized A 401: the device was revoked there (a retry could never succeed; the machine is told, not retried quietly). */
  constructor(url: string, token: string, private readonly onUnauthorized?: (detail: string) => void, fetcher: Fetch = (input, init) => fetch(input, init)) {
    void this.run(url, token, fetcher);
  }

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.readyState = 2;
    this.abort.abort();
  }

  private async run(url: string, token: string, fetcher: Fetch): Promise<void> {
    try {
      const response = await fetcher(url, {
        headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` }, credentials: 'omit', cache: 'no-store', signal: this.abort.signal,
      });
      if (response.status === 401 && this.onUnauthorized) {
        this.onUnauthorized((await toApiError(response)).detail);
        this.close();
        return;
      }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      this.readyState = 1;
      this.onopen?.(new Event('open'));
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const frame of parser.push(value)) this.dispatch(frame);
      }
    } catch {
      // Refused, unreachable or cut: told as EventSource tells it, a bare error (ResumableStream waits and reconnects).
    }
    if (this.readyState === 2) return;
    this.readyState = 2;
    this.onerror?.(new Event('error'));
  }

  private dispatch(frame: SseFrame): void {
    if (this.readyState === 2) return;
    const message = new MessageEvent(frame.event, { data: frame.data, lastEventId: frame.lastEventId });
    for (const listener of this.listeners.get(frame.event) ?? []) listener(message);
  }
}

/** The stream environment for another machine: its origin before each path, its token in the header. */
export const machineEnvironment = (origin: string, token: string, onUnauthorized: (detail: string) => void): StreamEnvironment => ({
  ...browserEnvironment(),
  open: (url) => new FetchEventSource(`${origin}${url}`, token, onUnauthorized),
});
