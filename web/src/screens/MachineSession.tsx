import { useEffect, useState } from 'preact/hooks';
import { describeError, type Health, type SessionMode } from '../api';

type AgentHealth = Health['agents'][number];
import { ApprovalCard } from '../components/ApprovalCard';
import { MachineBadge } from '../components/MachineBadge';
import { AppBar, Empty, ErrorNote, StatusBadge, timeAgo } from '../components/ui';
import { inboxEntries, viewOf } from '../inbox';
import { MachineContext } from '../machineContext';
import { machineApi, refreshMachine } from '../machines';
import { agentName } from '../agents';
import { navigate } from '../router';
import { useStore } from '../store';

/**
 * A session on another machine the app holds: its state, its waiting calls (decided there), a message to it and Stop, all
 * sent to that machine with its own token. The full session screen (transcript, files, git) is its own machine's app.
 */
export function MachineSession({ machineId, sessionId }: { machineId: string; sessionId: string }) {
  const view = useStore((s) => s.machines.find((m) => m.machine.id === machineId));
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!view) return <><AppBar back="/" title="Session" /><main class="page"><Empty><p>That machine is not in this app any more.</p></Empty></main></>;
  const session = view.board.sessions[sessionId];
  const pending = Object.fromEntries(Object.entries(view.board.pending).filter(([, p]) => p.sessionId === sessionId));
  const { mine, others } = inboxEntries(pending);
  const up = view.status === 'online';
  const act = async (what: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await what();
      await refreshMachine(machineId);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  const api = machineApi(machineId);
  const send = (e: Event) => {
    e.preventDefault();
    if (!api || !text.trim()) return;
    void act(async () => {
      await api.send(sessionId, text.trim(), [], crypto.randomUUID());
      setText('');
    });
  };
  return (
    <MachineContext.Provider value={machineId}>
      <AppBar back="/" title={session?.shortTitle || session?.title || 'Session'} subtitle={<MachineBadge view={view} />} />
      <main class="page stack" data-testid="machine-session" data-session={sessionId}>
        {session && (
          <p class="session-meta">
            <StatusBadge status={session.status} /> <span class="muted small">{agentName(session.agent)} · {timeAgo(session.updatedAt)}</span>
          </p>
        )}
        {session?.preview && <p class="muted">{session.preview}</p>}
        {[...mine, ...others].map((e) => <ApprovalCard key={e.approval.id} approval={viewOf(e.approval)} />)}
        <form class="card stack" onSubmit={send} aria-label="Message the agent">
          <label class="field">
            <span>Message to the agent on {view.machine.name}</span>
            <textarea name="message" rows={3} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
          </label>
          <ErrorNote error={error} />
          <div class="row">
            <button type="button" class="btn danger-ghost" disabled={busy || !up || !api} onClick={() => api && void act(() => api.stop(sessionId))}>Stop</button>
            <button type="submit" class="btn primary grow" disabled={busy || !up || !api || !text.trim()}>Send</button>
          </div>
        </form>
      </main>
    </MachineContext.Provider>
  );
}

/** A new session in a project on another machine: which agent (of those installed there), what to ask, in `ask` mode. */
export function MachineNewSession({ machineId, projectId }: { machineId: string; projectId: string }) {
  const view = useStore((s) => s.machines.find((m) => m.machine.id === machineId));
  const [agents, setAgents] = useState<AgentHealth[]>([]);
  const [agent, setAgent] = useState('');
  const [prompt, setPrompt] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const api = machineApi(machineId);
  useEffect(() => {
    api?.health().then((h) => {
      const available = h.agents.filter((a) => a.available);
      setAgents(available);
      setAgent((current) => current || available[0]?.id || '');
    }, (e: unknown) => setError(describeError(e)));
  }, [machineId]);
  const project = view?.projects.find((p) => p.id === projectId);
  const start = async (e: Event) => {
    e.preventDefault();
    if (!api) return;
    setBusy(true);
    setError(null);
    try {
      const session = await api.startSession(projectId, { agent, prompt: prompt.trim(), mode: 'ask' as SessionMode });
      await refreshMachine(machineId);
      navigate(`/m/${machineId}/s/${session.id}`);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <AppBar back="/" title={`New session in ${project?.name ?? 'a project'}`} subtitle={view && <MachineBadge view={view} />} />
      <main class="page">
        <form class="card stack" onSubmit={start} aria-label="Start a session">
          <label class="field">
            <span>Agent</span>
            <select name="agent" value={agent} onChange={(e) => setAgent((e.target as HTMLSelectElement).value)}>
              {agents.map((a) => <option key={a.id} value={a.id}>{agentName(a.id)}</option>)}
            </select>
          </label>
          <label class="field">
            <span>What to do</span>
            <textarea name="prompt" rows={4} value={prompt} onInput={(e) => setPrompt((e.target as HTMLTextAreaElement).value)} />
          </label>
          <p class="muted small">Starts in Ask mode: every sensitive call waits in the inbox, with this machine's badge.</p>
          <ErrorNote error={error} />
          <button type="submit" class="btn primary" disabled={busy || !agent || !prompt.trim() || view?.status !== 'online'}>{busy ? 'Starting…' : 'Start'}</button>
        </form>
      </main>
    </>
  );
}
