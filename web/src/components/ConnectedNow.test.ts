import { describe, expect, it } from 'vitest';
import { connectedLine, viaText } from './ConnectedNow';

describe('connected now', () => {
  it('says how each came in words', () => {
    expect(viaText('direct')).toBe('direct');
    expect(viaText('hub')).toBe('through the hub');
    expect(viaText('watch')).toBe('a watch link');
    expect(viaText('chat:telegram')).toBe('chat (telegram)');
    expect(viaText('direct', '127.0.0.1')).toBe('on this machine or through a proxy on it');
    expect(viaText('direct', '198.51.100.4')).toBe('direct');
  });

  it('names the person, the device, the address and the open streams', () => {
    const since = new Date(Date.now() - 5 * 60_000).toISOString();
    const line = connectedLine({ deviceId: 'd1', deviceName: 'Pixel', personName: 'Ana', via: 'hub', from: '203.0.113.9', since, openStreams: 2, openRequests: 3 });
    expect(line).toMatch(/^Ana's Pixel · through the hub from 203\.0\.113\.9 · since .+ · 2 streams open$/);
    expect(connectedLine({ deviceId: 'd2', deviceName: 'Telegram @al', personName: null, via: 'chat:telegram', from: null, since, openStreams: 0, openRequests: 0 }))
      .not.toContain('stream');
  });
});
