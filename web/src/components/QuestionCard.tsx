import { useState } from 'preact/hooks';
import { ApiError, describeError, type QuestionAnswer } from '../api';
import { useMachineApi, useMachineReachable } from '../machineContext';
import type { ApprovalView } from '../events';
import { rememberDecided } from '../push';
import { ErrorNote, Icon } from './ui';
import { TeamState } from './TeamState';

type Option = { label: string; description?: string };
type Question = { question: string; header?: string; options: Option[]; multiSelect?: boolean; secret?: boolean };

/** The questions an agent asked (Claude's AskUserQuestion), read defensively: the input is the agent's. */
export function questionsOf(input: unknown): Question[] {
  const list = (input as { questions?: unknown } | null)?.questions;
  if (!Array.isArray(list)) return [];
  return list.filter((q): q is Question => !!q && typeof q === 'object' && typeof (q as Question).question === 'string').map((q) => ({
    question: q.question,
    header: typeof q.header === 'string' ? q.header : undefined,
    multiSelect: q.multiSelect === true,
    // A secret (a password, a token): typed hidden, and the server keeps it out of the record.
    secret: q.secret === true,
    options: Array.isArray(q.options) ? q.options.filter((o): o is Option => !!o && typeof (o as Option).label === 'string') : [],
  }));
}

/**
 * An agent's question as its own card: each question with its options (one, or any number where it says so) and a
 * field for the owner's own words. Answered, or dismissed (the agent is told no answer came); never "allowed".
 */
export function QuestionCard({ approval: a }: { approval: ApprovalView }) {
  const questions = questionsOf(a.input);
  const [chosen, setChosen] = useState<string[][]>(() => questions.map(() => []));
  const [own, setOwn] = useState<string[]>(() => questions.map(() => ''));
  const setOwnAt = (index: number, text: string) => setOwn(own.map((t, j) => (j === index ? text : t)));
  const [busy, setBusy] = useState<'answer' | 'dismiss' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const up = useMachineReachable();
  const api = useMachineApi();
  // Exactly what the server offers this person: answer, dismiss, or (neither) whom it waits for.
  const mayAnswer = a.offers?.answer === true;
  const mayDismiss = a.offers?.deny === true;

  const toggle = (index: number, label: string, many: boolean) =>
    setChosen(chosen.map((c, i) => (i !== index ? c : many ? (c.includes(label) ? c.filter((l) => l !== label) : [...c, label]) : [label])));
  // Nothing to answer (an input in another shape): it can only be dismissed.
  const complete = questions.length > 0 && questions.every((_, i) => (chosen[i] ?? []).length > 0 || (own[i] ?? '').trim().length > 0);

  const send = async (what: 'answer' | 'dismiss') => {
    setBusy(what);
    setError(null);
    try {
      if (what === 'answer') {
        const answers: QuestionAnswer[] = questions.map((_, i) => ({ selected: chosen[i] ?? [], other: (own[i] ?? '').trim() || undefined }));
        await api.answer(a.approvalId, answers);
      } else {
        await api.decide(a.approvalId, 'deny', { message: 'The owner dismissed the question without answering.' });
      }
      rememberDecided();
    } catch (e) {
      setError(e instanceof ApiError && e.code === 'APPROVAL_ALREADY_DECIDED' ? `Already answered elsewhere: ${e.detail}`
        : e instanceof ApiError && e.code === 'ROLE_FORBIDDEN' ? `Not yours to answer: ${e.detail}` : describeError(e));
      setBusy(null);
    }
  };

  return (
    <section class="approval pending question" id={`approval-${a.approvalId}`} data-approval={a.approvalId} aria-label="Question from the agent">
      <header class="approval-head">
        <span class="kind kind-question"><Icon name="question" size={20} /></span>
        <div>
          <div class="approval-title">{questions.length > 1 ? `The agent asks ${questions.length} questions` : 'The agent asks'}</div>
          <div class="muted small approval-sub"><span class="badge" data-kind="question">question</span> {a.tool}</div>
        </div>
      </header>
      <div class="approval-body">
        {questions.map((q, i) => (
          <fieldset class="question-item" key={i} data-question={i}>
            <legend>{q.header && <span class="badge">{q.header}</span>} {q.question}</legend>
            {q.multiSelect && <div class="muted small">Choose any number.</div>}
            {q.options.map((o, j) => (
              <label class="option" key={j}>
                <input type={q.multiSelect ? 'checkbox' : 'radio'} name={`q-${a.approvalId}-${i}`} checked={(chosen[i] ?? []).includes(o.label)}
                  onChange={() => toggle(i, o.label, q.multiSelect === true)} />
                <span><strong>{o.label}</strong>{o.description && <span class="muted small"> — {o.description}</span>}</span>
              </label>
            ))}
            <label class="field">
              <span class="small">{q.secret ? 'Your answer (secret: sent to the agent, never recorded)' : `Your own answer${q.options.length > 0 ? ' (instead, or as well)' : ''}`}</span>
              {q.secret
                ? <input type="password" value={own[i] ?? ''} maxLength={4000} onInput={(e) => setOwnAt(i, (e.target as HTMLInputElement).value)} />
                : <input type="text" value={own[i] ?? ''} maxLength={4000} onInput={(e) => setOwnAt(i, (e.target as HTMLInputElement).value)} />}
            </label>
          </fieldset>
        ))}
      </div>
      <TeamState a={a} />
      <ErrorNote error={error} />
      {(mayAnswer || mayDismiss) && (
        <div class="approval-actions">
          <div class="row">
            {mayDismiss && <button class="btn danger-ghost" disabled={busy !== null || !up} onClick={() => void send('dismiss')}>{busy === 'dismiss' ? 'Dismissing…' : 'Dismiss'}</button>}
            {mayAnswer && (
              <button class="btn primary grow" disabled={busy !== null || !up || !complete} onClick={() => void send('answer')}>
                {busy === 'answer' ? 'Answering…' : 'Answer'}
              </button>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
