import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type AgentModels } from '../api';
import { agentName } from '../agents';

/** Each agent's list, asked once per page load (the server asks the agent itself at most once too). */
const asked = new Map<string, Promise<AgentModels>>();

/** Forgets the lists asked so far (tests). */
export function forgetModelLists(): void {
  asked.clear();
}

function modelsOf(agent: string): Promise<AgentModels> {
  let list = asked.get(agent);
  if (!list) {
    list = api.agentModels(agent);
    asked.set(agent, list);
    list.catch(() => asked.delete(agent));
  }
  return list;
}

const OTHER = '\u0000other';

/**
 * A model for a session or a profile: picked from what the agent says it offers, with its default first ("blank") and
 * "Other…" for a name of the owner's own (a model of their own provider); free text where the agent names none, or
 * cannot be asked (not installed, or no answer).
 */
export function ModelField({ agent, value, onChange, name }: { agent: string | null; value: string; onChange: (model: string) => void; name: string }) {
  const [list, setList] = useState<AgentModels | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [other, setOther] = useState(false);

  useEffect(() => {
    setList(null);
    setProblem(null);
    if (!agent) return;
    let current = true;
    modelsOf(agent).then((l) => current && setList(l), (e) => current && setProblem(describeError(e)));
    return () => { current = false; };
  }, [agent]);

  const models = list?.models ?? [];
  const listed = value === '' || models.some((m) => m.id === value);
  const label = <span>Model <span class="muted">{models.length ? '' : "(blank for the agent's default)"}</span></span>;
  if (!models.length || other || !listed) {
    return (
      <label class="field">{label}
        <input name={name} value={value} autoCapitalize="off" spellcheck={false} onInput={(e) => onChange((e.target as HTMLInputElement).value)} />
        {agent && !list && !problem && <span class="muted small">Asking {agentName(agent)} which models it offers…</span>}
        {problem && <span class="muted small">The list of models could not be had: {problem}</span>}
        {models.length > 0 && <button type="button" class="btn small" onClick={() => { setOther(false); onChange(''); }}>Pick from {agentName(agent ?? '')}'s models</button>}
      </label>
    );
  }

  const fallback = list?.default ? models.find((m) => m.id === list.default)?.name ?? list.default : null;
  return (
    <label class="field">{label}
      <select name={name} value={value} onChange={(e) => {
        const picked = (e.target as HTMLSelectElement).value;
        if (picked === OTHER) {
          setOther(true);
          onChange('');
        } else onChange(picked);
      }}>
        {/* Named when its name adds something: "The agent's default (Default (recommended))" says nothing more, and is cut at 390 px. */}
        <option value="">{fallback && !/default/i.test(fallback) ? `The agent's default (${fallback})` : "The agent's default"}</option>
        {models.map((m) => <option key={m.id} value={m.id} title={m.description ?? undefined}>{m.name}{m.name !== m.id ? ` · ${m.id}` : ''}</option>)}
        <option value={OTHER}>Other…</option>
      </select>
    </label>
  );
}
