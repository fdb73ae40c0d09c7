// The session's read-aloud row (issue #55): shown on a device where Read aloud is on (Devices). It reads the agent's
// latest reply, or the waiting call's one line, with the platform's speech synthesis; opened from a notification
// (`?speak=reply` or `?speak=call`, added by the service worker on a tap), it reads that once by itself.

import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApprovalView, Item } from '../events';
import { callSummary, plainText, readAloudOn, setReadAloud, speak, speechSupported } from '../speech';

export type SpeakFlag = 'reply' | 'call';

/** The newest reply the agent finished (or is writing), as text to speak; null when it has said nothing yet. */
export function latestReply(items: Item[]): string | null {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]!;
    if (item.type === 'assistant' && item.text.trim()) return plainText(item.text);
  }
  return null;
}

export function ReadAloud({ items, waiting, flag }: { items: Item[]; waiting: ApprovalView[]; flag: SpeakFlag | null }) {
  const on = readAloudOn() && speechSupported();
  const reply = on ? latestReply(items) : null;
  const call = on && waiting.length > 0 ? callSummary(waiting[waiting.length - 1]!.title) : null;
  // A notification's flag is read once, as soon as what it names is on screen, then taken out of the address (a reload
  // or Back must not speak again).
  const spokenFor = useRef<SpeakFlag | null>(null);
  useEffect(() => {
    if (!flag || spokenFor.current === flag) return;
    const text = flag === 'call' ? call : reply;
    if (!text && on) return;
    spokenFor.current = flag;
    if (text) speak(text);
    const url = new URL(location.href);
    url.searchParams.delete('speak');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  }, [flag, reply, call, on]);

  if (!on || (!reply && !call)) return null;
  return (
    <div class="read-aloud row" data-testid="read-aloud">
      {reply && <button class="btn ghost small" data-testid="read-reply" onClick={() => speak(reply)}>Read the reply aloud</button>}
      {call && <button class="btn ghost small" data-testid="read-call" onClick={() => speak(call)}>Read the waiting call</button>}
    </div>
  );
}

/** Devices: Read aloud on this device (kept on it, not on the server: another phone of the same person decides for itself). */
export function ReadAloudSetting() {
  const [on, setOn] = useState(readAloudOn);
  const supported = speechSupported();
  return (
    <section class="card pad" data-testid="read-aloud-setting">
      <h2>Read aloud</h2>
      <p class="muted small">
        {supported
          ? "Adds a button to each session that reads the agent's latest reply, or a waiting call, aloud with this phone's own voice; a tapped notification reads it by itself. Nothing is sent anywhere."
          : 'This browser has no speech synthesis.'}
      </p>
      <label class="toggle-row">
        <input type="checkbox" name="read-aloud" checked={on} disabled={!supported}
          onChange={(e) => { const value = (e.target as HTMLInputElement).checked; setReadAloud(value); setOn(value); }} />
        <span>Read aloud on this device</span>
      </label>
    </section>
  );
}
