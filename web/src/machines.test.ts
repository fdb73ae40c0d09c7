import { describe, expect, it } from 'vitest';
import { BADGE_COLORS, loadMachines, nextColor, pairingFailure, parseMachineLink, saveMachines, STORAGE_KEY, withMachine, type Machine } from './machines';
import { ApiError, describeError, NetworkError } from './api';
import { mergedInbox } from './inbox';
import { SseParser } from './fetchStream';
import type { PendingRef } from './dashboard';

const machine = (id: string, origin: string, color = BADGE_COLORS[1]!): Machine =>
  ({ id, name: id, origin, color, deviceId: `d-${id}`, token: `t-${id}`, addedAt: '2026-01-01T00:00:00Z' });

class MemoryStorage {
  items = new Map<string, string>();
  getItem = (k: string) => this.items.get(k) ?? null;
  setItem = (k: string, v: string) => void this.items.set(k, v);
}

describe('the machines an app holds', () => {
  it('reads a pairing link as its origin and code, and never keeps the path', () => {
    expect(parseMachineLink('https://laptop.example/#pair=ABCD-1234')).toEqual({ origin: 'https://laptop.example', code: 'ABCD-1234' });
    expect(parseMachineLink(' http://127.0.0.1:7420/pair ', 'WXYZ-9876')).toEqual({ origin: 'http://127.0.0.1:7420', code: 'WXYZ-9876' });
    expect(parseMachineLink('https://laptop.example/')).toHaveProperty('error');
    expect(parseMachineLink('javascript:alert(1)#pair=ABCD-1234')).toHaveProperty('error');
    expect(parseMachineLink('laptop')).toHaveProperty('error');
  });

  it('says an address that does not answer is not answering, not that the phone is offline', () => {
    const said = describeError(pairingFailure('https://laptop.example:7420', new NetworkError('Failed to fetch'), true));
    expect(said).toContain('No answer from https://laptop.example:7420');
    expect(said).not.toMatch(/you are offline/i);
    expect(describeError(pairingFailure('https://laptop.example', new NetworkError('Failed to fetch'), false))).toMatch(/^This phone is offline/);
    // The machine's own words (a wrong or used code) pass as they are.
    const refused = new ApiError(400, 'PAIRING_CODE_INVALID', 'That code is wrong or used.');
    expect(pairingFailure('https://laptop.example', refused, true)).toBe(refused);
  });

  it('keeps each machine with its own token, one per origin, and reads nothing broken', () => {
    const storage = new MemoryStorage();
    const a = machine('a', 'https://a.example');
    let list = withMachine([], a);
    list = withMachine(list, machine('b', 'https://b.example'));
    // Pairing the same machine again replaces it (its earlier token is that machine's to revoke).
    list = withMachine(list, { ...machine('a2', 'https://a.example'), token: 'newer' });
    saveMachines(storage, list);
    expect(loadMachines(storage).map((m) => [m.origin, m.token])).toEqual([['https://b.example', 't-b'], ['https://a.example', 'newer']]);
    storage.setItem(STORAGE_KEY, '{not json');
    expect(loadMachines(storage)).toEqual([]);
    storage.setItem(STORAGE_KEY, JSON.stringify([{ id: 'x' }, a]));
    expect(loadMachines(storage)).toEqual([a]);
  });

  it('gives each machine a colour of its own, never the home one', () => {
    expect(nextColor([])).toBe(BADGE_COLORS[1]);
    expect(nextColor([machine('a', 'https://a', BADGE_COLORS[1]!)])).toBe(BADGE_COLORS[2]);
    expect(BADGE_COLORS.slice(1)).toContain(nextColor(BADGE_COLORS.slice(1).map((c, i) => machine(`${i}`, `https://${i}`, c))));
  });
});

describe('one inbox across machines', () => {
  const ref = (id: string, createdAt: string, mine: boolean): PendingRef => ({
    approvalId: id, sessionId: `s-${id}`, createdAt,
    listed: { id, sessionId: `s-${id}`, tool: 'Bash', createdAt, offers: { allowOnce: mine, deny: mine } } as never,
  });

  it('tags each call with its machine, and puts what needs you first, oldest first across machines', () => {
    const home = { h1: ref('h1', '2026-01-01T00:00:03Z', true), h2: ref('h2', '2026-01-01T00:00:01Z', false) };
    const b = { b1: ref('b1', '2026-01-01T00:00:02Z', true), b2: ref('b2', '2026-01-01T00:00:00Z', false) };
    const { mine, others } = mergedInbox(home, [{ id: 'B', pending: b }]);
    expect(mine.map((e) => [e.approval.id, e.machine])).toEqual([['b1', 'B'], ['h1', undefined]]);
    expect(others.map((e) => [e.approval.id, e.machine])).toEqual([['b2', 'B'], ['h2', undefined]]);
  });
});

describe('an event stream read with fetch', () => {
  it('parses frames as EventSource does, across chunks, keeping the last id', () => {
    const parser = new SseParser();
    expect(parser.push(': connected\n\nid: 7\nevent: session.status\ndata: {"a":')).toEqual([]);
    expect(parser.push('1}\n\nevent: file.changed\r\ndata: x\r\ndata: y\r\n\r\n')).toEqual([
      { event: 'session.status', data: '{"a":1}', lastEventId: '7' },
      { event: 'file.changed', data: 'x\ny', lastEventId: '7' },
    ]);
    expect(parser.push('id: 8\ndata:plain\n\n')).toEqual([{ event: 'message', data: 'plain', lastEventId: '8' }]);
  });
});
