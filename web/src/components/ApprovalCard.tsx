import { useContext, useEffect, useState } from 'preact/hooks';
import { ApiError, describeError, type Decision, type RulePreview } from '../api';
import { MachineContext, useMachineApi, useMachineReachable } from '../machineContext';
import type { ApprovalView } from '../events';
import { renderMarkdown } from '../markdown';
import { AskedFor, copyCode, ToolInput, useRelative } from './ToolView';
import { rememberDecided } from '../push';
import { useStore } from '../store';
import { ErrorNote, Icon } from './ui';
import { QuestionCard, questionsOf } from './QuestionCard';
import { TeamState } from './TeamState';
import { decideOrKeep, KeptCard, mayKeep, useKeptDecision } from './KeptDecisions';

const DECIDED: Record<Decision, string> = {
  allow_once: 'Allowed once',
  allow_session: 'Allowed for this session',
  allow_always: 'Always allowed',
  deny: 'Denied',
};

function headline(a: ApprovalView): string {
  if (a.plan) return 'Plan ready for your review';
  if (a.risk === 'budget') return 'The budget is spent';
  switch (a.kind) {
    case 'execute': return 'Wants to run a command';
    case 'edit': return a.tool === 'Write' ? 'Wants to write a file' : 'Wants to edit a file';
    case 'read': return 'Wants to read';
    case 'fetch': return 'Wants to fetch';
    case 'mcp': return `Wants to use the MCP tool ${a.tool}`;
    case 'question': return 'The agent asks';
    case 'network': return 'Wants to connect';
    default: return `Wants to use ${a.tool}`;
  }
}

/** The kind in the words rules use (shell, read, edit, fetch, mcp), the same for every agent. */
export function kindWord(kind: string): string {
  return kind === 'execute' ? 'shell' : kind;
}

/** The server's risk signs in words, in its order (an unknown one from a newer server is left out, never shown as a code). */
const SIGN_WORDS: Record<string, string> = {
  'piped-to-shell': 'Downloads and runs a script',
  deletes: 'Deletes files',
  'force-push': 'Force-pushes',
  privilege: 'Asks for admin rights',
  credentials: 'Touches credentials',
  'outside-project': 'Reaches outside the project',
  'installs-packages': 'Installs packages',
  network: 'Uses the network',
};

export function riskWords(signs: readonly string[] | undefined): string[] {
  return (signs ?? []).flatMap((s) => (SIGN_WORDS[s] ? [SIGN_WORDS[s]] : []));
}

/** The session-wide allow's button: the tool it covers when the name is short enough for a phone. */
export function sessionAllowLabel(a: Pick<ApprovalView, 'kind' | 'tool'>): string {
  return a.kind === 'network' ? 'This host, all session' : a.tool.length <= 16 ? `All ${a.tool} this session` : 'This tool, all session';
}

/**
 * What the session-wide allow lets through, said before it is chosen: every later call of this tool in this session (the
 * server grants by tool name, Policy.ByRulesAndGrants), or for a connection, this host and port.
 */
export function sessionCovers(a: Pick<ApprovalView, 'kind' | 'tool' | 'input'>): string {
  if (a.kind === 'network') return `${sessionAllowLabel(a)}: every connection to ${networkCall(a.input).target || 'this host'} in this session goes through unasked.`;
  // The grant stops where the trusted mode does (Policy.cs): a command or an edit touching git, agent or CI settings still asks.
  const what = a.kind === 'execute' ? 'whatever its command; only one touching git, agent or CI settings still asks'
    : a.kind === 'edit' ? 'whatever file it changes; only git, agent or CI settings still ask' : 'whatever it asks';
  return `${sessionAllowLabel(a)}: every later ${a.tool} call of this session runs unasked, ${what}.`;
}

/** What to edit before allowing: the command itself for shell tools, otherwise the whole input as JSON. */
function editableText(input: unknown): { text: string; isCommand: boolean } {
  const o = input as Record<string, unknown> | null;
  if (o && typeof o === 'object' && typeof o.command === 'string') return { text: o.command, isCommand: true };
  return { text: JSON.stringify(input ?? {}, null, 2), isCommand: false };
}

const tokens = (n: unknown) => (typeof n === 'number' ? `${n.toLocaleString('en')} tokens` : null);
const dollars = (n: unknown) => (typeof n === 'number' ? `$${n.toFixed(2)}` : null);
const both = (...parts: (string | null)[]) => parts.filter(Boolean).join(' and ');

/**
 * A budget question's input in words: what was spent of what cap, what raising it adds, and what it holds back (the call
 * or the message that would go on). The server's input is `{budget, period?, usedTokens, capTokens, usedCostUsd,
 * capCostUsd, raiseTokens, raiseCostUsd, holds: {kind: call|message, tool, text}}` (docs/api.md, budgets).
 */
export function budgetText(input: unknown): { spent: string; raise: string; holds: string | null } {
  const b = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  const scope = b.budget === 'project' ? `The project's ${b.period === 'month' ? 'monthly' : 'daily'} budget` : 'This session\'s budget';
  const capped = (used: unknown, cap: unknown, say: (n: unknown) => string | null) => (typeof cap === 'number' ? `${say(used) ?? say(0)} of ${say(cap)}` : null);
  const spent = both(capped(b.usedTokens, b.capTokens, tokens), capped(b.usedCostUsd, b.capCostUsd, dollars));
  const raise = raiseOf(b);
  return {
    spent: `${scope} is spent${spent ? `: ${spent}` : ''}.`,
    raise: `Raise the budget to let the agent go on${raise ? ` (adds ${raise})` : ''}; Stop tells it to end its turn.`,
    holds: heldText(b.holds),
  };
}

function raiseOf(b: Record<string, unknown>): string {
  return both(typeof b.raiseTokens === 'number' && b.raiseTokens > 0 ? tokens(b.raiseTokens) : null,
    typeof b.raiseCostUsd === 'number' && b.raiseCostUsd > 0 ? dollars(b.raiseCostUsd) : null);
}

/** " (adds 1,000 tokens)": what an allowed raise added, for the timeline's trace of it. */
export function budgetRaise(input: unknown): string {
  const raise = raiseOf((input && typeof input === 'object' ? input : {}) as Record<string, unknown>);
  return raise ? ` (adds ${raise})` : '';
}

/** "It holds the Bash call: rm -rf build" / "It holds the message: Fix the tests", as the server's chat cards say it. */
function heldText(holds: unknown): string | null {
  const h = (holds && typeof holds === 'object' ? holds : {}) as Record<string, unknown>;
  const text = typeof h.text === 'string' ? h.text.trim() : '';
  if (h.kind === 'message') return `It holds the message${text ? `: ${text}` : ''}`;
  if (h.kind === 'call') return `It holds the ${typeof h.tool === 'string' && h.tool ? h.tool : 'tool'} call${text ? `: ${text}` : ''}`;
  return null;
}

/** What a card offers while the server has not said what this person may decide: nothing. */
const NOTHING: NonNullable<ApprovalView['offers']> = {
  allowOnce: false, allowSession: false, allowAlways: false, edit: false, deny: false, answer: false, waitingFor: null,
};

/** A refusal of a decision in words that say what to do next; the card stays usable. */
export function refusalText(e: unknown): string {
  if (!(e instanceof ApiError)) return describeError(e);
  switch (e.code) {
    case 'APPROVAL_ALREADY_DECIDED': return `Already decided elsewhere: ${e.detail}`;
    case 'ALREADY_ALLOWED_BY_YOU': return 'You have allowed this already (your other devices count as you): it needs another person\'s allow.';
    case 'TWO_PERSON_ALLOW_ONCE': return `Two people must allow this call, so it is allowed once, as asked: ${e.detail}`;
    case 'ROLE_FORBIDDEN': return `Not yours to decide: ${e.detail}`;
    default: return describeError(e);
  }
}

export function ApprovalCard({ approval: a }: { approval: ApprovalView }) {
  const [mode, setMode] = useState<'choose' | 'deny' | 'edit' | 'always'>('choose');
  const [message, setMessage] = useState('');
  const [edited, setEdited] = useState(() => editableText(a.input).text);
  const [busy, setBusy] = useState<Decision | null>(null);
  const [error, setError] = useState<string | null>(null);
  const rel = useRelative();
  // Any other decision sent while the machine is unreachable would only fail: its buttons wait until it is back. The machine
  // is the call's own (an added machine's card decides there).
  const up = useMachineReachable();
  const api = useMachineApi();
  const machine = useContext(MachineContext);
  // Allow once and Deny may be taken offline: kept on this phone, shown waiting, sent when the machine answers (outbox.ts).
  const kept = useKeptDecision(a.approvalId);
  const keeps = mayKeep(a, 'allow_once');

  if (a.status !== 'pending') return <DecidedCard a={a} />;
  if (kept && !kept.refused) return <KeptCard a={a} kept={kept} />;
  if (a.kind === 'question') return <QuestionCard approval={a} />;
  // Exactly what the server offers this person; nothing while it has not said.
  const offer = a.offers ?? NOTHING;
  const budget = a.risk === 'budget';
  // A command is its own title: the body shows it (once), the header names the tool.
  const isCommand = editableText(a.input).isCommand;

  const decide = async (decision: Decision, extra?: { message?: string; updatedInput?: unknown; pattern?: string }) => {
    setBusy(decision);
    setError(null);
    try {
      const answer = mayKeep(a, decision, extra) ? await decideOrKeep(api, machine, a, decision, extra?.message, up) : await api.decide(a.approvalId, decision, extra);
      rememberDecided();
      // Kept for the connection: the card shows it waiting.
      if (answer === null) return setBusy(null);
      // One of two people: approval.vote brings "1 of 2" to every phone, and the call waits for another person.
      if (answer.status === 'pending') setBusy(null);
      // Otherwise the card turns into its decided form when approval.resolved arrives on the stream.
    } catch (e) {
      setError(refusalText(e));
      setBusy(null);
    }
  };

  const allowEdited = () => {
    const editable = editableText(a.input);
    let updatedInput: unknown;
    if (editable.isCommand) {
      updatedInput = { ...(a.input as Record<string, unknown>), command: edited };
    } else {
      try {
        updatedInput = JSON.parse(edited);
      } catch {
        setError('That is not valid JSON.');
        return;
      }
      if (!updatedInput || typeof updatedInput !== 'object' || Array.isArray(updatedInput)) {
        setError('The input must be a JSON object.');
        return;
      }
    }
    void decide('allow_once', { updatedInput });
  };

  return (
    <section class="approval pending" id={`approval-${a.approvalId}`} data-approval={a.approvalId} aria-label="Approval needed">
      <header class="approval-head">
        <span class={`kind kind-${a.kind}`}><Icon name={budget ? 'alert' : a.plan ? 'plan' : a.kind} size={20} /></span>
        <div>
          <div class="approval-title">{headline(a)}</div>
          <div class="muted small approval-sub">
            {/* A budget's title repeats what its body says in words: the badge alone names it. */}
            {budget ? <span class="badge" data-kind="budget">budget</span>
              : <><span class="badge" data-kind={kindWord(a.kind)}>{kindWord(a.kind)}</span> {a.title && !isCommand ? rel(a.title) : a.tool}</>}
          </div>
          {/* A subagent's call: the owner sees which delegated work asks, not only what it runs. */}
          {a.parentToolCallId && <div class="muted small asked-by" data-testid="asked-by">Asked by {a.askedBy ? `the subagent “${rel(a.askedBy)}”` : 'a subagent'}</div>}
        </div>
      </header>
      {riskWords(a.riskSigns).length > 0 && (
        <ul class="risk-signs" aria-label="What stands out" data-testid="risk-signs">
          {riskWords(a.riskSigns).map((w) => <li key={w}><Icon name="alert" size={14} /> {w}</li>)}
        </ul>
      )}
      <div class="approval-body">
        {budget ? <BudgetBody input={a.input} />
          : a.kind === 'network' ? <NetworkBody input={a.input} />
          : a.plan ? <div class="md plan-text" dangerouslySetInnerHTML={{ __html: renderMarkdown(a.plan) }} onClick={copyCode} /> : <ToolInput tool={a.tool} input={a.input} context={a.editContext} fold />}
      </div>
      <TeamState a={a} />
      <ErrorNote error={error} />
      {mode === 'choose' && budget && (offer.deny || offer.allowOnce) && (
        <div class="approval-actions">
          <div class="row">
            {offer.deny && <button class="btn danger-ghost" disabled={busy !== null || !up} onClick={() => void decide('deny')}>{busy === 'deny' ? 'Stopping…' : 'Stop'}</button>}
            {offer.allowOnce && (
              <button class="btn primary grow" disabled={busy !== null || !up} onClick={() => void decide('allow_once')}>
                {busy === 'allow_once' ? 'Raising…' : 'Raise the budget'}
              </button>
            )}
          </div>
        </div>
      )}
      {mode === 'choose' && !budget && (offer.deny || offer.allowOnce) && (
        <div class="approval-actions">
          <div class="row">
            {offer.deny && <button class="btn danger-ghost" disabled={busy !== null || (!up && !keeps)} onClick={() => setMode('deny')}>Deny…</button>}
            {offer.allowOnce && (
              <button class="btn primary grow" disabled={busy !== null || (!up && !keeps)} onClick={() => void decide('allow_once')}>
                {busy === 'allow_once' ? 'Allowing…' : 'Allow once'}
              </button>
            )}
          </div>
          {/* The wider allows and the edit are secondary: plain text buttons under the two that decide this one call. */}
          {(offer.allowSession || offer.allowAlways || (!a.plan && offer.edit)) && (
            <div class="approval-more">
              {offer.allowSession && <button class="link-btn" disabled={busy !== null || !up} onClick={() => void decide('allow_session')}>
                {sessionAllowLabel(a)}</button>}
              {offer.allowAlways && <button class="link-btn" disabled={busy !== null || !up} onClick={() => setMode('always')}>Always allow…</button>}
              {!a.plan && offer.edit && <button class="link-btn" disabled={busy !== null || !up} onClick={() => setMode('edit')}>Edit, then allow…</button>}
            </div>
          )}
          {/* What the session-wide allow would let through, in words on the card (a title is no help on a phone). */}
          {offer.allowSession && <p class="muted small session-covers" data-testid="session-covers">{sessionCovers(a)}</p>}
        </div>
      )}
      {mode === 'always' && a.kind === 'network' && <AlwaysConnect a={a} busy={busy !== null || !up} decide={decide} back={() => setMode('choose')} onError={setError} />}
      {mode === 'always' && a.kind !== 'network' && <AlwaysRule a={a} busy={busy !== null || !up} allowing={busy === 'allow_always'} decide={decide} back={() => setMode('choose')} />}
      {mode === 'deny' && (
        <div class="approval-actions">
          <label class="field">
            <span>Tell the agent why (optional)</span>
            <textarea rows={2} value={message} placeholder="e.g. Don't touch the lock file" onInput={(e) => setMessage((e.target as HTMLTextAreaElement).value)} />
          </label>
          <div class="row">
            <button class="btn ghost" onClick={() => setMode('choose')}>Back</button>
            <button class="btn danger grow" disabled={busy !== null || (!up && !keeps)} onClick={() => void decide('deny', message.trim() ? { message: message.trim() } : undefined)}>
              {busy === 'deny' ? 'Denying…' : 'Deny'}
            </button>
          </div>
        </div>
      )}
      {mode === 'edit' && (
        <div class="approval-actions">
          <label class="field">
            <span>{editableText(a.input).isCommand ? 'Command to run instead' : 'Input to use instead (JSON)'}</span>
            <textarea class="mono" rows={editableText(a.input).isCommand ? 3 : 8} value={edited} spellcheck={false} autoCapitalize="off"
              onInput={(e) => setEdited((e.target as HTMLTextAreaElement).value)} />
          </label>
          <div class="row">
            <button class="btn ghost" onClick={() => setMode('choose')}>Back</button>
            <button class="btn primary grow" disabled={busy !== null || !up} onClick={allowEdited}>Allow edited</button>
          </div>
        </div>
      )}
    </section>
  );
}

/** A connection's input: `{connect: "host:port", by?, under?}` (docs/api.md, network calls). */
export function networkCall(input: unknown): { target: string; by?: string; under?: string } {
  const o = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  return { target: typeof o.connect === 'string' ? o.connect : '', by: typeof o.by === 'string' ? o.by : undefined, under: typeof o.under === 'string' ? o.under : undefined };
}

/** The domain a host's rule may cover instead (`*.example.org` for `files.example.org:443`); null for an address or a two-part name. */
export function domainPattern(target: string): string | null {
  const host = target.startsWith('[') ? '' : target.replace(/:\d+$/, '');
  const labels = host.split('.');
  if (labels.length < 3 || /^[\d.]+$/.test(host)) return null;
  return `*.${labels.slice(1).join('.')}`;
}

function NetworkBody({ input }: { input: unknown }) {
  const call = networkCall(input);
  return (
    <div class="network-call" data-testid="network-call">
      <pre class="code"><span class="prompt" aria-hidden="true">→ </span>{call.target}</pre>
      {call.by && <div class="muted small mono">by {call.by}</div>}
      {call.under && <div class="muted small mono">in {call.under}</div>}
      <p class="muted small">The connection waits while you decide. Nothing is looked into: only where it goes is known.</p>
    </div>
  );
}

/**
 * "Always" for a command, a file or a tool: the rule the server proposes (wider for a plain tool run, `git status *`), editable,
 * tried against the project's recent calls as the rules screen does, and saved as confirmed (the server checks it covers this call).
 */
function AlwaysRule({ a, busy, allowing, decide, back }: {
  a: ApprovalView; busy: boolean; allowing: boolean; decide: (decision: Decision, extra?: { pattern?: string }) => Promise<void>; back: () => void;
}) {
  const api = useMachineApi();
  const [pattern, setPattern] = useState(a.alwaysPattern || a.rulePattern || '*');
  const [preview, setPreview] = useState<RulePreview | null>(null);
  const board = useStore((s) => (a.sessionId ? s.board.sessions[a.sessionId]?.projectId : undefined));
  const project = a.projectId ?? board;
  useEffect(() => {
    const tried = pattern.trim();
    if (!project || !tried) return setPreview(null);
    const timer = window.setTimeout(() => void api.previewRule(project, { tool: a.tool, pattern: tried, action: 'allow' }).then(setPreview, () => setPreview(null)), 250);
    return () => window.clearTimeout(timer);
  }, [api, project, a.tool, pattern]);
  const confirmed = pattern.trim();
  return (
    <div class="approval-actions" data-testid="always-allow">
      <p class="always-rule">
        Adds a rule to this project: <strong>allow</strong> {a.tool} for what matches the pattern{confirmed === '*' ? <> (<strong>anything</strong>)</> : ''}.
        It runs without asking from now on; Rules lists it, to change or remove.
      </p>
      <label class="field">
        <span>Pattern (<code>*</code> stands for any words, never for <code>;</code> <code>|</code> <code>&amp;&amp;</code> or <code>$(…)</code>)</span>
        <input class="mono" value={pattern} aria-label="Rule pattern" data-testid="always-pattern" autoCapitalize="off" spellcheck={false}
          onInput={(e) => setPattern((e.target as HTMLInputElement).value)} />
      </label>
      {preview && <RuleCoverage preview={preview} />}
      <div class="row">
        <button class="btn ghost" onClick={back}>Back</button>
        <button class="btn primary grow" disabled={busy || !confirmed} onClick={() => void decide('allow_always', { pattern: confirmed })}>
          {allowing ? 'Allowing…' : 'Add rule and allow'}
        </button>
      </div>
    </div>
  );
}

/** What a rule would have matched among the project's recent calls, in the rules screen's words. */
function RuleCoverage({ preview }: { preview: RulePreview }) {
  return (
    <div class="rule-preview" role="status" data-testid="always-preview" data-matched={preview.matched}>
      {preview.checked === 0 ? 'No calls in this project yet to try it on.'
        : `Would have covered ${preview.matched} of the last ${preview.checked} calls${preview.examples.length > 0 ? ':' : '.'}`}
      {preview.examples.length > 0 && (
        <ul>{preview.examples.map((m, i) => <li key={i}><span class="muted">{m.tool}</span> <code>{m.subject}</code></li>)}</ul>
      )}
    </div>
  );
}

/** "Always" for a connection: a project rule for this host and port, or for every host of its domain. */
function AlwaysConnect({ a, busy, decide, back, onError }: {
  a: ApprovalView; busy: boolean; decide: (decision: Decision) => Promise<void>; back: () => void; onError: (error: string | null) => void;
}) {
  const target = networkCall(a.input).target;
  const domain = domainPattern(target);
  const api = useMachineApi();
  const project = useStore((s) => (a.sessionId ? s.board.sessions[a.sessionId]?.projectId : undefined));
  const forDomain = async () => {
    try {
      // The rule first, then this connection: the rule covers the later ones, as "always" does.
      await api.addRule(project!, { tool: 'network', pattern: domain!, action: 'allow' });
      await decide('allow_once');
    } catch (e) {
      onError(refusalText(e));
    }
  };
  return (
    <div class="approval-actions" data-testid="always-allow">
      <p class="always-rule">
        Adds a rule to this project: <strong>allow network</strong> <code class="pattern">{a.rulePattern || target}</code>
        {domain && project && <> (or every host of <code class="pattern">{domain}</code>)</>}. Its connections go through without asking
        from now on, in this and later sessions; Rules lists it, to change or remove.
      </p>
      <div class="row">
        <button class="btn ghost" onClick={back}>Back</button>
        <button class="btn primary grow" disabled={busy} onClick={() => void decide('allow_always')}>Allow {target}</button>
      </div>
      {domain && project && <button class="btn ghost block" disabled={busy} onClick={() => void forDomain()}>Allow every {domain} host</button>}
    </div>
  );
}

function BudgetBody({ input }: { input: unknown }) {
  const { spent, raise, holds } = budgetText(input);
  return (
    <div class="budget-text" data-testid="budget">
      <p><strong>{spent}</strong></p>
      {holds && <p class="budget-holds" data-testid="budget-holds">{holds}</p>}
      <p class="muted small">{raise}</p>
    </div>
  );
}

/**
 * The title of what ran when the owner edited the call before allowing it (the server's `updatedTitle`, else the edited
 * command), or null when it ran as asked.
 */
export function editedTitle(a: ApprovalView): string | null {
  if (a.status !== 'decided' || a.decision === 'deny' || a.kind === 'question' || a.updatedInput == null) return null;
  const command = (a.updatedInput as { command?: unknown }).command;
  return a.updatedTitle || (typeof command === 'string' ? command : `${a.tool} (as you edited it)`);
}

/** What the owner answered to each question, in the order asked (the server keeps them keyed by question). */
export function answersOf(a: ApprovalView): string[] {
  if (a.kind !== 'question' || a.status !== 'decided' || a.decision === 'deny') return [];
  const answers = (a.updatedInput as { answers?: unknown } | null)?.answers;
  if (!answers || typeof answers !== 'object') return [];
  const keyed = answers as Record<string, unknown>;
  const asked = questionsOf(a.input).map((q) => q.question);
  const order = [...asked.filter((q) => q in keyed), ...Object.keys(keyed).filter((q) => !asked.includes(q))];
  return order.flatMap((q) => (typeof keyed[q] === 'string' && keyed[q] ? [keyed[q] as string] : []));
}

function Answers({ a }: { a: ApprovalView }) {
  const answers = answersOf(a);
  if (answers.length === 0) return null;
  return <span class="decision-answers" data-testid="answers">: {answers.map((text, i) => <span key={i}>{i > 0 && ' · '}“{text}”</span>)}</span>;
}

function decidedText(a: ApprovalView): { allowed: boolean; text: string } {
  const allowed = a.status === 'decided' && a.decision !== 'deny';
  const text = a.kind === 'question' && a.status === 'decided'
    ? (allowed ? 'Answered' : 'Dismissed')
    : a.risk === 'budget' && a.status === 'decided'
    ? (allowed ? `Budget raised${budgetRaise(a.input)}` : 'Stopped at the budget')
    : a.status === 'decided'
    ? `${a.decision ? DECIDED[a.decision] : 'Decided'}${a.updatedInput ? ' (edited)' : ''}`
    : a.status === 'cancelled' ? 'Withdrawn by the agent' : 'Interrupted by a server restart';
  return { allowed, text };
}

/** Who decided a tool call and how, shown on the tool's own row. */
export function DecisionLine({ a }: { a: ApprovalView }) {
  if (a.status === 'pending') return null;
  const { allowed, text } = decidedText(a);
  return (
    <div class={`decision ${allowed ? 'allowed' : 'refused'}`} data-approval={a.approvalId} data-decision={a.decision ?? a.status}>
      <Icon name="shield" size={16} />
      <span><strong>{text}</strong><Answers a={a} />{a.decidedBy && a.status === 'decided' && <span class="muted"> by {a.decidedBy}</span>}
        {a.message && <span class="decision-message"> — “{a.message}”</span>}</span>
    </div>
  );
}

function DecidedCard({ a }: { a: ApprovalView }) {
  const [open, setOpen] = useState(false);
  const rel = useRelative();
  const { allowed, text } = decidedText(a);
  const ran = editedTitle(a);
  return (
    <section class={`approval decided ${allowed ? 'allowed' : 'refused'}`} data-approval={a.approvalId} data-decision={a.decision ?? a.status}>
      <button class="decided-head" aria-expanded={open} onClick={() => setOpen(!open)}>
        <Icon name={allowed ? 'check' : 'cross'} size={18} />
        <span class="decided-text">
          <strong>{text}</strong><Answers a={a} />
          {a.decidedBy && a.status === 'decided' && <span class="muted"> by {a.decidedBy}</span>}
          <span class="decided-what muted">{a.plan ? 'Plan' : rel(ran ?? (a.title || a.tool))}</span>
        </span>
      </button>
      {a.message && <div class="decided-message">“{a.message}”</div>}
      {open && (
        <div class="approval-body">
          {ran !== null && <AskedFor tool={a.tool} title={a.title || a.tool} input={a.input} />}
          {a.plan ? <div class="md plan-text" dangerouslySetInnerHTML={{ __html: renderMarkdown(a.plan) }} onClick={copyCode} /> : <ToolInput tool={a.tool} input={a.updatedInput ?? a.input} context={a.updatedInput ? null : a.editContext} />}
        </div>
      )}
    </section>
  );
}
