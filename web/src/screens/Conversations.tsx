import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, describeError, type AgentConversation } from '../api';
import { AppBar, Empty, ErrorNote, timeAgo } from '../components/ui';
import { linkTo, navigate } from '../router';
import { upsertSession, useStore } from '../store';
import { agentName } from '../agents';

/**
 * The agent conversations this project's folder has on the machine, begun in a terminal or here: continue one on the
 * phone (its history comes along, every call from then on goes through the gate), or open the session carrying it.
 */
export function Conversations({ projectId }: { projectId: string }) {
  const project = useStore((s) => s.projects.find((p) => p.id === projectId));
  const [list, setList] = useState<AgentConversation[] | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  // A claude works in the folder, perhaps on another conversation: the owner may continue anyway.
  const [maybe, setMaybe] = useState<AgentConversation | null>(null);
  useEffect(() => void api.conversations(projectId).then(setList, (e) => setError(describeError(e))), [projectId]);

  const carryOn = async (c: AgentConversation, force = false) => {
    setBusy(c.id);
    setError(null);
    setMaybe(null);
    try {
      const session = await api.continueConversation(projectId, c.agent, c.id, force);
      upsertSession(session);
      navigate(`/s/${session.id}`);
    } catch (e) {
      setError(describeError(e));
      if (e instanceof ApiError && e.code === 'CONVERSATION_MAYBE_IN_USE') setMaybe(c);
      setBusy(null);
    }
  };

  return (
    <>
      <AppBar back="/" title="Conversations" subtitle={project?.name} />
      <main class="page">
        <p class="fine">Conversations the agents keep for this folder, also those begun in a terminal. Continue one here and its history comes along; every call from then on asks as usual.</p>
        <ErrorNote error={error} />
        {maybe && <button class="btn ghost block" onClick={() => void carryOn(maybe, true)}>Continue anyway</button>}
        {list?.length === 0 && <Empty><p>No agent conversations for this folder on this machine yet.</p></Empty>}
        <ul class="list">
          {list?.map((c) => (
            <li key={`${c.agent}-${c.id}`} class="list-row conversation" data-conversation={c.id}>
              <div class="grow">
                <div class="session-title">{c.title || 'Untitled conversation'}</div>
                <div class="muted small">{agentName(c.agent)} · {timeAgo(c.lastActivity)}{c.size > 0 ? ` · ${Math.max(1, Math.round(c.size / 1024))} KB` : ''}{c.inUse ? ' · in use' : ''}</div>
              </div>
              {c.sessionId && c.inUse
                ? <a class="btn ghost small" {...linkTo(`/s/${c.sessionId}`)}>Open</a>
                : <button class="btn primary small" disabled={busy !== null || c.inUse} onClick={() => void carryOn(c)}>
                    {busy === c.id ? 'Starting…' : c.inUse ? 'In a terminal' : 'Continue here'}
                  </button>}
            </li>
          ))}
        </ul>
      </main>
    </>
  );
}
