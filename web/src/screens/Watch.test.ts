// @vitest-environment happy-dom
import { h, render } from 'preact';
import { describe, expect, it } from 'vitest';
import type { ServerEvent } from '../events';
import { Transcript } from '../components/Transcript';
import { MODEL_REASON } from '../replies';
import { addLive, emptyWindow, openAt } from '../transcriptWindow';
import { readOnly } from './Watch';

const connection = (host: string, reason: string) => ({ host, port: 443, outcome: 'allowed', reason, sent: 900, received: 40_000, milliseconds: 700 });

/** A reply streamed under the network sandbox, as the outside check saw it (issue #67). */
const events = ([
  ['message.user', { text: 'hi' }],
  ['message.delta', { text: 'Hel' }],
  ['network.connection', connection('127.0.0.1', MODEL_REASON)],
  ['message.delta', { text: 'lo' }],
  ['network.connection', connection('127.0.0.1', MODEL_REASON)],
  ['network.connection', connection('registry.npmjs.org', 'Allowed by the owner.')],
  ['message', { text: 'Hello.' }],
  ['turn.completed', { stopReason: 'end_turn', isError: false }],
] as const).map(([kind, data], i): ServerEvent => ({ kind, data: { sessionId: 's1', seq: i + 1, ...data } }));

function shown(items: Parameters<typeof readOnly>[0]) {
  const root = document.createElement('div');
  render(h(Transcript, { items: readOnly(items) }), root);
  return {
    messages: [...root.querySelectorAll('.bubble.assistant')].map((m) => m.textContent?.trim()),
    typing: root.querySelectorAll('.streaming').length,
    network: [...root.querySelectorAll('[data-testid="network"] summary')].map((s) => s.textContent?.trim()),
  };
}

describe('a watch link', () => {
  it('shows a reply streamed in the network sandbox once, not typing, and only the connection the owner decided', () => {
    // Live, in the batches a phone gets, with a reconnect's replay of the middle.
    let live = emptyWindow();
    for (const batch of [events.slice(0, 3), events.slice(1, 5), events.slice(5)]) live = addLive(live, batch);
    const expected = { messages: ['Hello.'], typing: 0, network: ['Connected: registry.npmjs.org:443'] };
    expect(shown(live.view.items)).toEqual(expected);
    // And on a reload (the newest page, folded from scratch).
    expect(shown(openAt({ events, before: null, lastSeq: events.length }).view.items)).toEqual(expected);
  });
});
