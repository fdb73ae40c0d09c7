import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { describeError, type PlanEntry } from '../api';
import { loadHighlighter } from '../lazyHighlight';
import type { ApprovalView, Item, NetworkConnection, ToolResultView } from '../events';
import { linkParts } from '../linkify';
import { renderMarkdown } from '../markdown';
import { ApprovalCard, DecisionLine, editedTitle } from './ApprovalCard';
import { linkTo } from '../router';
import { Icon } from './ui';
import { AskedFor, copyCode, ToolInput, useRelative } from './ToolView';

/**
 * What the timeline shows. A tool call that needed a decision is one thing to the reader: while it waits, the approval
 * card stands for it; once decided, the tool row carries the decision and the card steps aside. A budget decision is
 * not the call's own: it stays in the timeline as itself (who raised the budget, or stopped), before the call's.
 */
export function timeline(items: Item[]): { shown: Item[]; approvals: Map<string, ApprovalView> } {
  const approvals = new Map<string, ApprovalView>();
  const tools = new Set<string>();
  const ownsTool = (a: ApprovalView) => !!a.toolCallId && a.risk !== 'budget';
  for (const item of items) {
    if (item.type === 'approval' && ownsTool(item.approval)) approvals.set(item.approval.toolCallId, item.approval);
    if (item.type === 'tool') tools.add(item.toolCallId);
  }
  const shown = items.filter((item) =>
    item.type === 'tool' ? approvals.get(item.toolCallId)?.status !== 'pending'
      : item.type === 'approval' ? item.approval.status === 'pending' || !ownsTool(item.approval) || !tools.has(item.approval.toolCallId)
        : true);
  return { shown, approvals };
}

/** What a subagent did, gathered under the call that started it; the main thread's items, and every card still waiting, stay on top. */
export interface SubagentTree {
  top: Item[]; under: Map<string, Item[]>; calls: Map<string, Extract<Item, { type: 'tool' }>>;
  onStopTask?: (taskId: string) => Promise<void>;
  onUndoRewind?: () => Promise<void>;
}

export function subagentTree(shown: Item[]): SubagentTree {
  const calls = new Map<string, Extract<Item, { type: 'tool' }>>();
  for (const item of shown) if (item.type === 'tool') calls.set(item.toolCallId, item);
  const under = new Map<string, Item[]>();
  const top: Item[] = [];
  for (const item of shown) {
    const parent = 'parentToolCallId' in item ? item.parentToolCallId : undefined;
    if (parent && calls.has(parent)) under.set(parent, [...(under.get(parent) ?? []), item]);
    else top.push(item);
  }
  return { top, under, calls };
}

/**
 * `onStopTask`: where this person may steer the session, stops one running subagent (the turn goes on). `onUndoRewind`: where
 * they may steer a session a rewind made, puts the files back as they were before it (the server says when it no longer can).
 */
export function Transcript({ items, onStopTask, onUndoRewind }: { items: Item[]; onStopTask?: (taskId: string) => Promise<void>;
  onUndoRewind?: () => Promise<void> }) {
  const { shown, approvals } = timeline(items);
  const tree: SubagentTree = { ...subagentTree(shown), onStopTask, onUndoRewind };
  return (
    <ol class="transcript" aria-live="polite">
      <Items items={tree.top} tree={tree} approvals={approvals} />
    </ol>
  );
}

/** What a rewind did, and its Undo: asked once more before it runs, its refusal (files changed since, too late) shown as the server says it. */
function Rewound({ text, onUndo }: { text: string; onUndo?: () => Promise<void> }) {
  const [step, setStep] = useState<'idle' | 'asking' | 'busy'>('idle');
  const [error, setError] = useState<string | null>(null);
  const undo = () => {
    setStep('busy');
    setError(null);
    onUndo!().catch((e: unknown) => {
      setError(describeError(e));
      setStep('idle');
    });
  };
  return (
    <div class="notice info rewound stack">
      <span>{text}</span>
      {onUndo && step === 'idle' && <button type="button" class="btn ghost small" onClick={() => setStep('asking')}>Undo rewind…</button>}
      {onUndo && step !== 'idle' && (
        <div class="row">
          <span class="small grow">The files go back exactly as they were before the rewind, and the conversation as it was.</span>
          <button type="button" class="btn ghost small" disabled={step === 'busy'} onClick={() => setStep('idle')}>Cancel</button>
          <button type="button" class="btn primary small" disabled={step === 'busy'} onClick={undo}>Undo rewind</button>
        </div>
      )}
      {error && <span class="small bad" role="alert">{error}</span>}
    </div>
  );
}

/** Each item in its row; a call that started a subagent carries the subagent's own rows under it. */
function Items({ items, tree, approvals }: { items: Item[]; tree: SubagentTree; approvals: Map<string, ApprovalView> }) {
  return (
    <>
      {items.map((item) => (
        <li key={`${item.type}-${item.seq}`} class={`t-${item.type}`} data-seq={item.seq}>
          {item.type === 'rewound' ? <Rewound text={item.text} onUndo={tree.onUndoRewind} />
            : item.type === 'tool' && (item.task || tree.under.has(item.toolCallId))
            ? <Subagent item={item} approval={approvals.get(item.toolCallId)} tree={tree} approvals={approvals} />
            : <TranscriptItem item={askedBy(item, tree)} approval={item.type === 'tool' ? approvals.get(item.toolCallId) : undefined} />}
        </li>
      ))}
    </>
  );
}

/** A subagent's waiting card names the subagent that asks (its call's title). */
function askedBy(item: Item, tree: SubagentTree): Item {
  if (item.type !== 'approval' || !item.approval.parentToolCallId) return item;
  const parent = tree.calls.get(item.approval.parentToolCallId);
  return parent ? { ...item, approval: { ...item.approval, askedBy: parent.title || parent.tool } } : item;
}

/** The state a subagent shows: its task's own where the agent reports one, else its call's. */
export function subagentState(item: Extract<Item, { type: 'tool' }>): 'running' | 'done' | 'failed' | 'stopped' | 'interrupted' {
  if (item.task) return item.task.status === 'completed' ? 'done' : item.task.status === 'running' && item.interrupted ? 'interrupted' : item.task.status;
  return item.result ? (item.result.isError ? 'failed' : 'done') : item.interrupted ? 'interrupted' : 'running';
}

function Subagent({ item, approval, tree, approvals }: { item: Extract<Item, { type: 'tool' }>; approval?: ApprovalView; tree: SubagentTree;
  approvals: Map<string, ApprovalView> }) {
  const [open, setOpen] = useState(true);
  const [stopping, setStopping] = useState<'no' | 'asking' | 'failed'>('no');
  const steps = tree.under.get(item.toolCallId) ?? [];
  const state = subagentState(item);
  const calls = steps.filter((s) => s.type === 'tool').length;
  // Its calls waiting for the owner stand on top, as cards: the row still counts them.
  const waiting = tree.top.filter((i) => i.type === 'approval' && i.approval.status === 'pending' && i.approval.parentToolCallId === item.toolCallId).length;
  return (
    <div class={`subagent ${state}`} data-subagent={item.toolCallId} data-state={state}>
      <ToolItem item={item} approval={approval} state={state} />
      <button class="subagent-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span class={`subagent-state ${state}`}>{STATE_WORDS[state]}</span>
        <span>{calls === 1 ? '1 call' : `${calls} calls`}{waiting ? ` · ${waiting} waiting for you` : ''}</span>
        <Icon name="chevron" size={16} />
      </button>
      {state === 'running' && item.task?.taskId && tree.onStopTask && (
        <button class="btn danger-ghost small subagent-stop" disabled={stopping === 'asking'} onClick={() => {
          setStopping('asking');
          tree.onStopTask!(item.task!.taskId).then(() => setStopping('no'), () => setStopping('failed'));
        }}>{stopping === 'asking' ? 'Stopping…' : stopping === 'failed' ? 'Could not stop it: try again' : 'Stop this subagent'}</button>
      )}
      {open && steps.length > 0 && (
        <ol class="subagent-steps" aria-label="What the subagent did">
          <Items items={steps} tree={tree} approvals={approvals} />
        </ol>
      )}
    </div>
  );
}

const STATE_WORDS = { running: 'Running', done: 'Done', failed: 'Failed', stopped: 'Stopped', interrupted: 'Interrupted' } as const;

/** The owner's own words as they typed them (a command keeps its indentation), with their web addresses as links. */
function OwnText({ text }: { text: string }) {
  return (
    <p class="own-text">
      {linkParts(text).map((part, i) => (typeof part === 'string' ? part
        : <a key={i} href={part.href} target="_blank" rel="noopener noreferrer">{part.href}</a>))}
    </p>
  );
}

function TranscriptItem({ item, approval }: { item: Item; approval?: ApprovalView }) {
  switch (item.type) {
    case 'user':
      return (
        <div class="bubble user-bubble" data-testid="message">
          <OwnText text={item.text} />
          {item.attachments && (
            <ul class="sent-attachments">
              {item.attachments.map((a, i) => <li key={i}><Icon name={a.kind === 'image' ? 'attach' : 'file'} size={16} /> {a.name}</li>)}
            </ul>
          )}
          {item.sentBy && <div class="by">{item.sentBy}</div>}
        </div>
      );
    case 'assistant':
      return <Markdown text={item.text} class={`bubble assistant${item.done ? '' : ' streaming'}`} />;
    case 'thinking':
      return (
        <details class="thinking">
          <summary>Thinking</summary>
          <div class="md muted" dangerouslySetInnerHTML={{ __html: renderMarkdown(item.text) }} onClick={copyCode} />
        </details>
      );
    case 'tool':
      return <ToolItem item={item} approval={approval} />;
    case 'approval':
      return <ApprovalCard approval={item.approval} />;
    case 'plan':
      return <Checklist entries={item.entries} />;
    case 'error':
      // What an agent printed as it exited can run to 2,000 characters: folded under its error, one tap away.
      return (
        <div class="notice bad" role="alert">
          <Icon name="alert" size={18} /> <span>{item.message}</span>
          {item.stderrTail && (
            <details class="stderr">
              <summary>What the agent printed last</summary>
              <pre>{item.stderrTail}</pre>
            </details>
          )}
        </div>
      );
    case 'notice':
    case 'rewound':
      return <div class={`notice ${item.type === 'notice' ? item.tone : 'info'}`}>{item.text}</div>;
    case 'review':
      return (
        <a class="btn ghost block review-link" data-turn={item.turn} {...linkTo(`/s/${item.sessionId}/turn/${item.turn}`)}>
          <Icon name="code" size={18} /> Review {item.files === 1 ? '1 changed file' : `${item.files} changed files`}
        </a>
      );
    case 'network':
      return <NetworkLine connections={item.connections} />;
  }
}

/** Bytes as a person reads them: 950 B, 12 kB, 3.4 MB. */
export function bytesText(n: number): string {
  if (n < 1000) return `${n} B`;
  const [value, unit] = n < 1e6 ? [n / 1e3, 'kB'] : n < 1e9 ? [n / 1e6, 'MB'] : [n / 1e9, 'GB'];
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}

/** What became of one connection, in words: an allowed host that could not be reached is not a refusal. */
export const OUTCOME_WORDS: Record<NetworkConnection['outcome'], string> = { allowed: 'allowed', denied: 'refused', failed: 'could not connect' };

/**
 * The hosts of a run of connections in one line ("files.example.org:443, 2 more"), and how many were refused or could not
 * connect; one connection says which: "Connected", "Refused", or "Could not connect" (allowed, and the host did not answer).
 */
export function networkSummary(connections: readonly NetworkConnection[]): string {
  const hosts = [...new Set(connections.map((c) => `${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}`))];
  const count = (outcome: NetworkConnection['outcome']) => connections.filter((c) => c.outcome === outcome).length;
  const named = hosts.length <= 2 ? hosts.join(', ') : `${hosts.slice(0, 2).join(', ')}, ${hosts.length - 2} more`;
  if (connections.length === 1) return `${{ allowed: 'Connected', denied: 'Refused', failed: 'Could not connect' }[connections[0]!.outcome]}: ${named}`;
  const [denied, failed] = [count('denied'), count('failed')];
  const notes = [...(denied ? [`${denied} refused`] : []), ...(failed ? [`${failed} could not connect`] : [])];
  return `${connections.length} connections: ${named}${notes.length ? ` (${notes.join(', ')})` : ''}`;
}

/** Connections out of the sandbox: one line, unfolding to each one's host, outcome and why, bytes, and who opened it. */
function NetworkLine({ connections }: { connections: NetworkConnection[] }) {
  // A refusal in the warning red; a host allowed that did not answer in the waiting colour: nobody said no.
  const mark = connections.some((c) => c.outcome === 'denied') ? ' has-denied' : connections.some((c) => c.outcome === 'failed') ? ' has-failed' : '';
  return (
    <details class={`network${mark}`} data-testid="network">
      <summary><Icon name="network" size={16} /> {networkSummary(connections)}</summary>
      <div class="network-list">
        {connections.map((c, i) => (
          <div key={i} class="network-entry" data-outcome={c.outcome}>
            <div><code>{c.host.includes(':') ? `[${c.host}]` : c.host}:{c.port}</code> <strong class={c.outcome}>{OUTCOME_WORDS[c.outcome]}</strong>
              {c.outcome === 'allowed' && <span class="muted"> · ↑ {bytesText(c.sent)} ↓ {bytesText(c.received)}</span>}</div>
            <div class="muted small">{c.outcome === 'failed' ? `could not connect: ${c.reason}` : c.reason}</div>
            {c.by && <div class="muted small mono">by {c.by}{c.under ? ` (in ${c.under})` : ''}</div>}
          </div>
        ))}
      </div>
    </details>
  );
}

function Markdown({ text, class: className }: { text: string; class: string }) {
  // Every character of model text is escaped by renderMarkdown before it becomes markup.
  const html = useMemo(() => renderMarkdown(text), [text]);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (box.current) colourCodeBlocks(box.current);
  }, [html]);
  return <div ref={box} class={`md ${className}`} data-testid="message" dangerouslySetInnerHTML={{ __html: html }} onClick={copyCode} />;
}

// Code blocks this long are left plain: colouring is for reading, not for a wall of tokens.
const CODE_COLOUR_LIMIT = 64 * 1024;

/**
 * Colours the fenced code blocks that name their language, once the highlighter chunk has loaded. Tokens go in as text
 * nodes (never markup), so code stays code whatever it holds.
 */
function colourCodeBlocks(root: HTMLElement): void {
  const blocks = [...root.querySelectorAll<HTMLElement>('pre[data-lang] > code')].filter((c) => !c.dataset.coloured && (c.textContent ?? '').length <= CODE_COLOUR_LIMIT);
  if (blocks.length === 0) return;
  void loadHighlighter().then((h) => {
    for (const code of blocks) {
      const language = h.resolve(code.parentElement!.dataset.lang ?? '');
      if (!language || !code.isConnected) continue;
      const source = code.textContent ?? '';
      const fragment = document.createDocumentFragment();
      h.highlightLines(source, language).forEach((line, i) => {
        if (i) fragment.append('\n');
        for (const t of line) {
          if (t.kind === 'plain') fragment.append(t.text);
          else {
            const span = document.createElement('span');
            span.className = `tok-${t.kind}`;
            span.textContent = t.text;
            fragment.append(span);
          }
        }
      });
      code.replaceChildren(fragment);
      code.dataset.coloured = 'true';
    }
  }, () => {});
}

export function Checklist({ entries }: { entries: PlanEntry[] }) {
  const done = entries.filter((e) => e.status === 'completed').length;
  return (
    <div class="checklist card-lite">
      <div class="checklist-head"><Icon name="plan" size={18} /> To-do <span class="muted small">{done}/{entries.length}</span></div>
      <ul>
        {entries.map((e, i) => (
          <li key={i} class={`check ${e.status}`}>
            <span class="box" aria-hidden="true">{e.status === 'completed' ? '✓' : e.status === 'in_progress' ? '•' : ''}</span>
            <span>{e.content}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function ToolItem({ item, approval, state: given }: { item: Extract<Item, { type: 'tool' }>; approval?: ApprovalView; state?: string }) {
  const [open, setOpen] = useState(false);
  const rel = useRelative();
  const state = given ?? (item.result ? (item.result.isError ? 'failed' : 'done') : item.interrupted ? 'interrupted' : 'running');
  // Edited before it was allowed: the row names what ran; what the agent asked for is one tap away.
  const ran = approval ? editedTitle(approval) : null;
  const asked = item.title || item.tool;
  return (
    <div class={`tool ${state}${open ? ' open' : ''}`} data-tool={item.tool}>
      <button class="tool-head" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span class={`kind kind-${item.kind}`}><Icon name={item.kind} size={18} /></span>
        <span class="tool-title">{rel(ran ?? asked)}</span>
        <span class="tool-state" aria-label={state}>
          {state === 'running' ? <span class="spinner small" />
            : state === 'interrupted' || state === 'stopped' ? <Icon name="alert" size={16} />
            : state === 'failed' ? <Icon name="cross" size={16} /> : <Icon name="check" size={16} />}
        </span>
      </button>
      {approval && <DecisionLine a={approval} />}
      {open && (
        <div class="tool-body">
          {ran !== null && <AskedFor tool={item.tool} title={asked} input={item.input} />}
          {item.inputMissing && !approval?.updatedInput
            ? <p class="muted" data-testid="input-missing">The agent never said what this call's input was.</p>
            : <ToolInput tool={item.tool} input={approval?.updatedInput ?? item.input} context={approval?.updatedInput ? null : approval?.editContext} />}
          {item.result && <ToolResult result={item.result} />}
        </div>
      )}
    </div>
  );
}

function ToolResult({ result }: { result: ToolResultView }) {
  return (
    <div class={`result${result.isError ? ' error' : ''}`}>
      <div class="result-label">{result.isError ? 'Error' : 'Result'}{result.truncated ? ' (cut at 64 KB)' : ''}</div>
      <pre class="code">{result.content || '(no output)'}</pre>
    </div>
  );
}
