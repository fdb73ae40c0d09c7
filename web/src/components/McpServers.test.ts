import { describe, expect, it } from 'vitest';
import type { McpServer } from '../api';
import { mcpOrigin, parsePairs } from './McpServers';

describe('parsePairs', () => {
  it('reads NAME=value lines, the value keeping any later separator, blank lines skipped', () => {
    expect(parsePairs('TOKEN=abc=def\n\n  REGION = eu ', '=')).toEqual({ TOKEN: 'abc=def', REGION: 'eu' });
    expect(parsePairs('Authorization: Bearer a:b', ':')).toEqual({ Authorization: 'Bearer a:b' });
  });

  it('says which line is not NAME=value, never sending half of it', () => {
    expect(parsePairs('TOKEN=abc\njust-a-secret', '=')).toBe('"just-a-secret" is not NAME=value.');
    expect(parsePairs('=nameless', '=')).toBe('"=nameless" is not NAME=value.');
  });
});

describe('mcpOrigin', () => {
  const server = (origin: string) => ({ origin } as McpServer);
  it('says where a server comes from in words', () => {
    expect(mcpOrigin(server('pocketcoder'))).toBe('Added here');
    expect(mcpOrigin(server('repository'))).toBe("The repository's .mcp.json");
    expect(mcpOrigin(server('codex'))).toBe("Codex's own config");
  });
});
