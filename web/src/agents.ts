// The agents' names as people know them, for every screen that names one.

/** An agent's name as people know it (its id where it has none here). */
export function agentName(id: string): string {
  return ({
    'claude-code': 'Claude Code', codex: 'Codex', opencode: 'OpenCode', gemini: 'Gemini', copilot: 'Copilot CLI', qwen: 'Qwen Code', pi: 'pi', kilo: 'Kilo Code',
    grok: 'Grok CLI', amp: 'Amp', auggie: 'Auggie', crush: 'Crush', droid: 'Factory Droid',
  } as Record<string, string>)[id] ?? id;
}
