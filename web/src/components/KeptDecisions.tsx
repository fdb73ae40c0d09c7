// The decisions side of the phone's outbox (outbox.ts, #51) on screen: a card whose decision waits for the connection,
// the notes that say plainly why a kept decision was not taken, and the sender that sends kept decisions when a machine
// answers again (mounted once, in the app's shell, so a decision goes whichever screen is open).

import { useContext, useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Api, type Decision } from '../api';
import { MachineContext } from '../machineContext';
import { machineApi } from '../machines';
import { reachable, useStore } from '../store';
import type { ApprovalView } from '../events';
import { dropDecision, keepDecision, keptDecision, keptDecisions, onOutboxChange, sendKeptDecisions, unreachable, whyNotTaken,
  type KeptDecision, type KeptVerdict } from '../outbox';
import { rememberDecided } from '../push';

/** The client of the machine a kept decision goes to (null: this app's own); undefined when that machine was removed. */
const clientOf = (machine: string | null): Api | undefined => (machine === null ? api : machineApi(machine));

/**
 * Whether this decision may be kept while the machine cannot be reached: Allow once or Deny (with its words) of a tool call.
 * A question's answers, a budget's raise, a wider allow, an edit and an "always" rule are made with the machine's answers
 * at hand (offers, previews, checks), so they wait for the connection as before.
 */
export function mayKeep(a: ApprovalView, decision: Decision, extra?: { updatedInput?: unknown; pattern?: string }): decision is KeptVerdict {
  return (decision === 'allow_once' || decision === 'deny') && a.kind !== 'question' && a.risk !== 'budget'
    && extra?.updatedInput === undefined && extra?.pattern === undefined;
}

/**
 * Sends the decision now, with its key; kept in the outbox instead (null) when the machine cannot be reached, or the try
 * failed on the way (a lost answer: the same key again decides nothing twice). The machine's refusal is thrown, as before.
 */
export async function decideOrKeep(client: Api, machine: string | null, a: ApprovalView, decision: KeptVerdict, message: string | undefined,
  up: boolean): Promise<{ status: string } | null> {
  const kept = { approvalId: a.approvalId, sessionId: a.sessionId ?? '', machine, decision, message, title: a.title || a.tool };
  if (!up) {
    keepDecision(kept);
    return null;
  }
  const clientId = crypto.randomUUID();
  try {
    const answer = await client.decide(a.approvalId, decision, { ...(message ? { message } : {}), clientId });
    rememberDecided();
    return answer;
  } catch (e) {
    if (!unreachable(e)) throw e;
    keepDecision({ ...kept, clientId, tried: true });
    return null;
  }
}

/** The decision kept on this phone for this call (null: none), live. */
export function useKeptDecision(approvalId: string): KeptDecision | null {
  const machine = useContext(MachineContext);
  const [kept, setKept] = useState(() => keptDecision(approvalId, machine) ?? null);
  useEffect(() => {
    setKept(keptDecision(approvalId, machine) ?? null);
    return onOutboxChange(() => setKept(keptDecision(approvalId, machine) ?? null));
  }, [approvalId, machine]);
  return kept;
}

/** A call decided offline: taken, and waiting for the connection; the owner may take it back until it goes. */
export function KeptCard({ a, kept }: { a: ApprovalView; kept: KeptDecision }) {
  const allow = kept.decision === 'allow_once';
  return (
    <section class={`approval pending kept ${allow ? 'allowed' : 'refused'}`} data-approval={a.approvalId} data-kept={kept.decision}
      aria-label="Decision waiting for the connection">
      <div class="approval-title">{allow ? 'Allow once' : 'Deny'}: waiting for the connection</div>
      <pre class="code kept-call">{kept.title}</pre>
      {kept.message && <p class="muted small">Your words for the agent: {kept.message}</p>}
      {kept.sending || kept.tried
        // It may have reached the machine already: taking it back here would retract nothing there.
        ? <p class="muted small" data-testid="kept-sent">{kept.sending ? 'Sending now. ' : 'Sent once with no answer back: it may have reached the machine. '}
            It goes again with the same key when the machine answers, so it counts once.</p>
        : <>
            <p class="muted small">Kept on this phone; it goes by itself when the machine answers, and the agent waits until then.</p>
            <div class="row">
              <button type="button" class="btn ghost grow" onClick={() => dropDecision(kept.clientId)}>Take it back</button>
            </div>
          </>}
    </section>
  );
}

/**
 * The kept decisions a machine refused on arrival, each said plainly until the owner has read it: of this session (on its
 * machine), or, with `everyMachine` (the inbox), of every machine's calls.
 */
export function KeptDecisionNotes({ sessionId, everyMachine = false }: { sessionId?: string; everyMachine?: boolean }) {
  const context = useContext(MachineContext);
  const machine = everyMachine ? undefined : context;
  const read = () => keptDecisions(machine, sessionId).filter((d) => d.refused);
  const [refused, setRefused] = useState(read);
  useEffect(() => {
    setRefused(read());
    return onOutboxChange(() => setRefused(read()));
  }, [machine, sessionId]);
  if (refused.length === 0) return null;
  return (
    <section class="kept-notes" aria-label="Decisions not taken" data-testid="kept-refused">
      {refused.map((d) => (
        <div key={d.clientId} class="card kept-note" role="alert">
          <p>Your {d.decision === 'deny' ? 'Deny' : 'Allow once'} of <code>{d.title}</code> was not sent: {d.refused}.</p>
          <div class="row"><button type="button" class="btn ghost grow" onClick={() => dropDecision(d.clientId)}>OK</button></div>
        </div>
      ))}
    </section>
  );
}

const ENDED = new Set(['stopped', 'failed', 'interrupted']);

/** Why the machine refused a kept decision, in plain words: where the call (and its session) stand now. */
async function explain(client: Api, d: KeptDecision, e: unknown): Promise<string> {
  const call = await client.approval(d.approvalId).catch((err: unknown) => {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  });
  const session = await client.session(d.sessionId).catch(() => null);
  return whyNotTaken(e, call, session === null || ENDED.has(session.status));
}

function send(machine: string | null): void {
  const client = clientOf(machine);
  if (!client) return;
  void sendKeptDecisions(machine, (d) => client.decide(d.approvalId, d.decision, { ...(d.message ? { message: d.message } : {}), clientId: d.clientId }),
    (d, e) => explain(client, d, e)).then((results) => {
    if (results.some((r) => r.outcome === 'sent')) rememberDecided();
  });
}

/** Sends the kept decisions of each machine whenever it answers again (this one: the network and its stream back). */
export function KeptDecisionsSender() {
  const home = useStore(reachable);
  const online = useStore((s) => s.machines.filter((m) => m.status === 'online').map((m) => m.machine.id).join(' '));
  useEffect(() => {
    if (home) send(null);
  }, [home]);
  useEffect(() => {
    for (const id of online.split(' ').filter(Boolean)) send(id);
  }, [online]);
  return null;
}
