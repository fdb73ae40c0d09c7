import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type Rule } from '../api';
import { AppBar, Empty, ErrorNote, Icon } from '../components/ui';
import { useStore } from '../store';

export function Rules({ projectId }: { projectId: string }) {
  const project = useStore((s) => s.projects.find((p) => p.id === projectId));
  const [rules, setRules] = useState<Rule[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api.rules(projectId).then(setRules, (e) => setError(describeError(e)));
  useEffect(() => void load(), [projectId]);

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
                <div><strong>{r.tool === '*' ? 'Any tool' : r.tool}</strong></div>
                <code class="pattern">{r.pattern}</code>
              </div>
              <button class="icon-btn" aria-label={`Remove rule ${r.tool} ${r.pattern}`} onClick={() => void remove(r)}><Icon name="trash" /></button>
            </li>
          ))}
        </ul>
        <p class="fine">A deny rule always wins; then the session mode; then ask, allow. Patterns match the command, or the path inside the project.</p>
      </main>
    </>
  );
}
