import { describe, expect, it } from 'vitest';
import { base64UrlToBytes } from './push';
import { reachable, type AppState } from './store';

describe('push', () => {
  it('decodes a VAPID key (base64url, no padding) to the 65-byte point browsers subscribe with', () => {
    const key = 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4';
    const bytes = base64UrlToBytes(key);
    expect(bytes.length).toBe(65);
    expect(bytes[0]).toBe(4);
    expect(Buffer.from(bytes).toString('base64url')).toBe(key);
  });
});

describe('reachable', () => {
  const at = (online: boolean, stream: AppState['stream']) => ({ online, stream }) as AppState;
  it('is false offline, and while the live stream waits to reconnect (the machine is down, the network is not)', () => {
    expect(reachable(at(true, 'open'))).toBe(true);
    expect(reachable(at(true, 'connecting'))).toBe(true);
    expect(reachable(at(true, 'waiting'))).toBe(false);
    expect(reachable(at(false, 'open'))).toBe(false);
  });
});
