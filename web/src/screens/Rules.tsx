import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type Rule, type RulePreview } from '../api';

/** The words a rule's tool may be besides an agent's own tool name: they match every agent's tool of that kind. */
export const KIND_WORDS: { value: string; label: string }[] = [
  { value: '*', label: 'Any tool' },
  { value: 'shell', label: 'shell — any agent\'s commands' },
  { value: 'edit', label: 'edit — any agent\'s file edits' },
  { value: 'read', label: 'read — any agent\'s reads' },
  { value: 'fetch', label: 'fetch — web fetches' },
  { value: 'mcp', label: 'mcp — MCP tools' },
  { value: 'network', label: 'network — connections out of the sandbox' },
];
import { AppBar, Empty, ErrorNote, Icon } from '../components/ui';
import { useProject } from '../store';

export function Rules({ projectId }: { projectId: string }) {
  const project = useProject(projectId);
  const [rules, setRules] = useState<Rule[] | null>(null);
  // Rules change what runs unasked: everyone's to read, written where the server offers to manage the project.
  const owner = project?.offers?.manage === true;
  const [error, setError] = useState<string | null>(null);
  const load = () => api.rules(projectId).then(setRules, (e) => setError(describeError(e)));
  useEffect(() => void load(), [projectId]);

  const [tool, setTool] = useState('shell');
  const [customTool, setCustomTool] = useState('');
  const [pattern, setPattern] = useState('');
  const [action, setAction] = useState<Rule['action']>('ask');
  const [editing, setEditing] = useState<Rule | null>(null);
  const [preview, setPreview] = useState<RulePreview | null>(null);
  const draft = { tool: tool === 'custom' ? customTool.trim() : tool, pattern: pattern || '*', action };

  // What the rule would have matched, as it is typed (a moment after the last key).
  useEffect(() => {
    if (!draft.tool || !owner) return setPreview(null);
    const timer = window.setTimeout(() => void api.previewRule(projectId, draft).then(setPreview, () => setPreview(null)), 300);
    return () => window.clearTimeout(timer);
  }, [projectId, draft.tool, draft.pattern, draft.action]);

  const reset = () => {
    setEditing(null);
    setPattern('');
    setTool('shell');
    setAction('ask');
  };

  const save = async (e: Event) => {
    e.preventDefault();
    try {
      if (editing) await api.changeRule(projectId, editing.id, draft);
      else await api.addRule(projectId, draft);
      reset();
      setError(null);
      await load();
    } catch (err) {
      setError(describeError(err));
    }
  };

  const edit = (rule: Rule) => {
    setEditing(rule);
    const known = KIND_WORDS.some((k) => k.value === rule.tool);
    setTool(known ? rule.tool : 'custom');
    setCustomTool(known ? '' : rule.tool);
    setPattern(rule.pattern);
    setAction(rule.action);
    document.querySelector('.rule-form')?.scrollIntoView({ block: 'center' });
  };

  const remove = async (rule: Rule) => {
    try {
      await api.removeRule(projectId, rule.id);
      await load();
    } catch (e) {
      setError(describeError(e));
    }
  };

  return (
    <>
      <AppBar back="/" title="Rules" subtitle={project?.name} />
      <main class="page">
        <ErrorNote error={error} />
        {rules?.length === 0 && <Empty><p>No rules yet. “Always allow” on an approval adds one here.</p></Empty>}
        <ul class="list">
          {rules?.map((r) => (
            <li key={r.id} class="list-row">
              <span class={`badge rule-${r.action}`}>{r.action}</span>
              <div class="grow">
                <div><strong>{KIND_WORDS.find((k) => k.value === r.tool)?.label ?? r.tool}</strong></div>
                <code class="pattern">{r.pattern}</code>
              </div>
              {owner && <button class="icon-btn" aria-label={`Edit rule ${r.tool} ${r.pattern}`} onClick={() => edit(r)}><Icon name="edit" /></button>}
              {owner && <button class="icon-btn" aria-label={`Remove rule ${r.tool} ${r.pattern}`} onClick={() => void remove(r)}><Icon name="trash" /></button>}
            </li>
          ))}
        </ul>
        {owner && <form class="rule-form" onSubmit={(e) => void save(e)} aria-label={editing ? 'Change the rule' : 'Add a rule'}>
          {editing && <p class="muted small">Changing the rule <code>{editing.tool} {editing.pattern}</code>.</p>}
          <label class="field"><span>Tool</span>
            <select value={tool} onChange={(e) => setTool((e.target as HTMLSelectElement).value)}>
              {KIND_WORDS.map((k) => <option key={k.value} value={k.value}>{k.label}</option>)}
              <option value="custom">One agent's tool by name…</option>
            </select>
          </label>
          {tool === 'custom' && (
            <label class="field"><span>Tool name</span>
              <input value={customTool} placeholder="e.g. Bash" autoCapitalize="off" onInput={(e) => setCustomTool((e.target as HTMLInputElement).value)} />
            </label>
          )}
          <label class="field"><span>{tool === 'network' ? 'Host (host:port, *.domain, or host for any port)' : 'Pattern (command or path)'}</span>
            <input class="mono" value={pattern} placeholder={tool === 'network' ? 'e.g. files.example.org:443 or *.example.org' : 'e.g. npm test* or src/**'}
              autoCapitalize="off" spellcheck={false}
              onInput={(e) => setPattern((e.target as HTMLInputElement).value)} />
          </label>
          <div class="row">
            <select value={action} aria-label="Action" onChange={(e) => setAction((e.target as HTMLSelectElement).value as Rule['action'])}>
              <option value="ask">ask</option><option value="allow">allow</option><option value="deny">deny</option>
            </select>
            {editing && <button class="btn ghost" type="button" onClick={reset}>Cancel</button>}
            <button class="btn primary grow" type="submit">{editing ? 'Save rule' : 'Add rule'}</button>
          </div>
          {preview && (
            <div class="rule-preview" role="status" data-matched={preview.matched}>
              {preview.checked === 0
                ? 'No questions in this project yet to try it on.'
                : preview.matched === 0
                  ? `Matches none of the last ${preview.checked} questions.`
                  : `Would have matched ${preview.matched} of the last ${preview.checked} questions:`}
              {preview.examples.length > 0 && (
                <ul>{preview.examples.map((m, i) => <li key={i}><span class="muted">{m.tool}</span> <code>{m.subject}</code></li>)}</ul>
              )}
            </div>
          )}
        </form>}
        <p class="fine">Edits of git, agent and CI configuration (.git, .claude, .codex, .opencode, .gemini, .qwen, .github/copilot, .github/hooks, .github/extensions, .mcp.json, .github/mcp.json, .vscode/mcp.json, .envrc, .gitattributes, .github/workflows) always ask unless a rule names the path. </p>
        <p class="fine">A deny rule always wins; then the session mode; then ask, allow. Patterns match the command, or the path inside the project.</p>
        <p class="fine">Network rules decide the connections a sandboxed agent and its commands open to hosts other than its model: nothing else
          passes unasked, and no session mode covers them (only a rule, an allow for the session, or you).</p>
      </main>
    </>
  );
}
