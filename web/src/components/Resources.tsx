import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type Resources } from '../api';
import { ErrorNote } from './ui';

/** How often the phone looks again: memory moves slowly, and an open screen should not keep the server busy. */
const EVERY_MS = 10_000;

/** Bytes as the phone shows them: MiB up to a GiB, then GiB with one decimal. */
export function memoryText(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return mib < 1024 ? `${Math.round(mib)} MiB` : `${(mib / 1024).toFixed(1)} GiB`;
}

/** One line for the machine: how many agents run of how many may, who waits, and where the memory is. */
export function resourcesText(r: Resources): string {
  const line = r.queued.length > 0 ? ` · ${r.queued.length} in line` : '';
  return `${r.running} of ${r.limit} agents running${line} · agents ${memoryText(r.agentsMemoryBytes)} · machine ` +
    `${memoryText(r.machineMemoryBytes)} (${memoryText(r.machineAvailableBytes)} free)`;
}

/** The machine's resources, looked at again every few seconds while shown. */
function useResources(): [Resources | null, (r: Resources) => void] {
  const [resources, setResources] = useState<Resources | null>(null);
  useEffect(() => {
    let live = true;
    const look = () => api.resources().then((r) => live && setResources(r), () => {});
    void look();
    const timer = setInterval(look, EVERY_MS);
    return () => { live = false; clearInterval(timer); };
  }, []);
  return [resources, setResources];
}

/** The home screen's word on the machine; an owner may change how many agents run at once. */
export function ResourcesPanel({ owner }: { owner: boolean }) {
  const [resources, setResources] = useResources();
  const [limit, setLimit] = useState('');
  const [error, setError] = useState<string | null>(null);
  if (!resources) return null;
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      setResources(await api.setAgentLimit(limit.trim() === '' ? null : Number(limit)));
      setLimit('');
    } catch (err) {
      setError(describeError(err));
    }
  };
  return (
    <section class="card resources" data-testid="resources">
      <p class="small">{resourcesText(resources)}</p>
      {owner && (
        <form class="row" onSubmit={save}>
          <label class="small" for="agent-limit">Agents at once</label>
          <input id="agent-limit" type="number" min={1} max={1000} inputMode="numeric" placeholder={String(resources.limit)} value={limit}
            onInput={(e) => setLimit((e.target as HTMLInputElement).value)} />
          <button class="btn small" type="submit">{limit.trim() === '' ? 'Default' : 'Set'}</button>
        </form>
      )}
      <ErrorNote error={error} />
    </section>
  );
}

/** A running session's memory (its agent's process tree), under its transcript; nothing while its agent does not run. */
export function SessionMemoryLine({ sessionId }: { sessionId: string }) {
  const [resources] = useResources();
  const mine = resources?.sessions.find((s) => s.sessionId === sessionId);
  if (!resources || !mine) return null;
  return <p class="muted small center" data-testid="session-memory">Agent memory {memoryText(mine.memoryBytes)} · machine {memoryText(resources.machineMemoryBytes)}</p>;
}
