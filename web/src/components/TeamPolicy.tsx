import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type BudgetCap, type BudgetStatus, type BudgetUse, type TeamPolicy } from '../api';
import { ErrorNote } from './ui';
import { upsertProject } from '../store';
import { linkTo } from '../router';

/** The kinds of call the policy routes, in its words (RiskClasses.cs, RiskClasses.Routed). */
const RISKS: { risk: string; label: string }[] = [
  { risk: 'shell', label: 'Commands' },
  { risk: 'edit', label: 'File edits' },
  { risk: 'protected', label: 'Git, agent or CI configuration' },
  { risk: 'read', label: 'Reads' },
  { risk: 'fetch', label: 'Web fetches' },
  { risk: 'mcp', label: 'MCP tools' },
  { risk: 'network', label: 'Connections out of a sandbox' },
  { risk: 'question', label: 'Questions' },
  { risk: 'other', label: 'Anything else' },
];
const DECIDERS = [
  { role: 'operator', label: 'Operators' },
  { role: 'approver', label: 'Approvers' },
  { role: 'owner', label: 'Owners only' },
];

/** A number field's value: empty is none (null); anything else goes as typed, for the server to judge. */
const numberOrNull = (text: string): number | null => (text.trim() === '' ? null : Number(text));
const shown = (n: number | null | undefined) => (n == null ? '' : String(n));

/** The budget with one cap typed in: a scope with neither cap left is no cap at all (null), as the server reads it. */
export function withCap(budget: TeamPolicy['budget'], scope: 'session' | 'project', field: 'tokens' | 'costUsd', text: string): TeamPolicy['budget'] {
  const next = { tokens: null, costUsd: null, ...budget[scope], [field]: numberOrNull(text) };
  return { ...budget, [scope]: next.tokens == null && next.costUsd == null ? null : next };
}

/**
 * Who decides what in this project, which calls need two people, when an unanswered call goes on to the owners, and
 * the budgets: owners edit it, everyone else reads it. The server checks it whole (VALIDATION_FAILED says what is wrong).
 */
export function TeamPolicySection({ projectId, editable }: { projectId: string; editable: boolean }) {
  const [policy, setPolicy] = useState<TeamPolicy | null>(null);
  // The session cap as saved (what the meter line says holds), apart from the form's edits until they are saved.
  const [savedSessionCap, setSavedSessionCap] = useState<BudgetCap | null>(null);
  const [budget, setBudget] = useState<BudgetStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  const loadBudget = () => api.budget(projectId).then(setBudget, () => {});
  useEffect(() => {
    api.policy(projectId).then((p) => { setPolicy(p); setSavedSessionCap(p.budget.session); }, (e) => setError(describeError(e)));
    void loadBudget();
  }, [projectId]);
  if (!policy) return error ? <section class="card pad"><h2>Team policy</h2><ErrorNote error={error} /></section> : null;

  const change = (patch: Partial<TeamPolicy>) => {
    setPolicy({ ...policy, ...patch });
    setSaved(false);
  };
  const changeBudget = (patch: Partial<TeamPolicy['budget']>) => change({ budget: { ...policy.budget, ...patch } });
  const cap = (scope: 'session' | 'project', field: 'tokens' | 'costUsd', text: string) => change({ budget: withCap(policy.budget, scope, field, text) });
  const twoPerson = (risk: string, on: boolean) =>
    change({ twoPerson: on ? [...policy.twoPerson.filter((r) => r !== risk), risk] : policy.twoPerson.filter((r) => r !== risk) });

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const stored = await api.setPolicy(projectId, policy);
      setPolicy(stored);
      setSavedSessionCap(stored.budget.session);
      setSaved(true);
      // The policy changes what the server offers here (the modes one may choose, a shell of one's own): asked again.
      void api.project(projectId).then(upsertProject, () => {});
      void loadBudget();
    } catch (err) {
      setError(describeError(err));
    }
    setBusy(false);
  };

  return (
    // noValidate: the server's check is the one that counts, and its words (VALIDATION_FAILED) say what to change.
    <form class="card pad stack team-policy" aria-label="Team policy" onSubmit={save} noValidate>
      <h2>Who decides</h2>
      <p class="muted small">{editable ? 'The least role that may allow each kind of call in this project (the roles above it may too), and which need two different people.'
        : 'Set by the owners: the least role that may allow each kind of call here (the roles above it may too).'}</p>
      <fieldset class="policy-grid" disabled={!editable || busy}>
        {RISKS.map(({ risk, label }) => (
          <label key={risk} class="contents">
            <span>{label}</span>
            <select name={`decider-${risk}`} aria-label={`Who decides: ${label}`} value={policy.deciders[risk] ?? 'approver'}
              onChange={(e) => change({ deciders: { ...policy.deciders, [risk]: (e.target as HTMLSelectElement).value } })}>
              {DECIDERS.map((d) => <option key={d.role} value={d.role}>{d.label}</option>)}
            </select>
          </label>
        ))}
      </fieldset>
      <fieldset class="stack" disabled={!editable || busy}>
        <legend class="small">Two people must allow</legend>
        {RISKS.filter((r) => r.risk !== 'question').map(({ risk, label }) => (
          <label key={risk} class="option">
            <input type="checkbox" name={`two-${risk}`} checked={policy.twoPerson.includes(risk)} onChange={(e) => twoPerson(risk, (e.target as HTMLInputElement).checked)} />
            <span>{label}</span>
          </label>
        ))}
      </fieldset>
      <fieldset class="stack" disabled={!editable || busy}>
        <label class="field">
          <span>Ask the owners too after (seconds; empty: never)</span>
          <input type="number" name="escalateAfterSeconds" inputMode="numeric" min={10} value={shown(policy.escalateAfterSeconds)}
            onInput={(e) => change({ escalateAfterSeconds: numberOrNull((e.target as HTMLInputElement).value) })} />
        </label>
      </fieldset>
      <h2>Budgets</h2>
      <BudgetMeter use={budget?.project ?? null} period={budget?.period ?? policy.budget.period} />
      <a class="chip-btn" data-testid="costs-link" {...linkTo('/costs')}>Costs by day, project, agent, person or session</a>
      <p class="muted small" data-testid="session-cap">{sessionCapText(savedSessionCap)}</p>
      <fieldset class="stack" disabled={!editable || busy}>
        <label class="field">
          <span>The project's budget counts per</span>
          <select name="budgetPeriod" value={policy.budget.period} onChange={(e) => changeBudget({ period: (e.target as HTMLSelectElement).value })}>
            <option value="day">Day (UTC)</option>
            <option value="month">Month (UTC)</option>
          </select>
        </label>
        {(['session', 'project'] as const).map((scope) => (
          <div class="row" key={scope}>
            <label class="field grow">
              <span>{scope === 'session' ? 'Each session: tokens' : 'The project: tokens'}</span>
              <input type="number" name={`${scope}-tokens`} inputMode="numeric" min={1} placeholder="no cap" value={shown(policy.budget[scope]?.tokens)}
                onInput={(e) => cap(scope, 'tokens', (e.target as HTMLInputElement).value)} />
            </label>
            <label class="field grow">
              <span>cost (USD)</span>
              <input type="number" name={`${scope}-cost`} inputMode="decimal" min={0} step="0.01" placeholder="no cap" value={shown(policy.budget[scope]?.costUsd)}
                onInput={(e) => cap(scope, 'costUsd', (e.target as HTMLInputElement).value)} />
            </label>
          </div>
        ))}
      </fieldset>
      <ErrorNote error={error} />
      {saved && <p class="muted small" role="status">Saved. Calls asked from now on follow it; one already waiting keeps who may decide it.</p>}
      {editable && <button class="btn primary block" type="submit" disabled={busy}>{busy ? 'Saving…' : 'Save policy'}</button>}
    </form>
  );
}

/** The saved cap on each session in words: a project without a cap of its own may still cap every session. */
export function sessionCapText(cap: BudgetCap | null): string {
  const parts = [cap?.tokens != null ? `${cap.tokens.toLocaleString('en')} tokens` : null, cap?.costUsd != null ? `$${cap.costUsd.toFixed(2)}` : null]
    .filter(Boolean);
  return parts.length ? `Each session may use up to ${parts.join(' and ')}.` : 'No cap on each session.';
}

/** What the project has used this period, against its cap when it has one. */
export function BudgetMeter({ use, period }: { use: BudgetUse | null; period: string }) {
  if (!use) return <p class="muted small" data-testid="budget-meter">No cap on the project's use.</p>;
  const per = period === 'month' ? 'this month' : 'today';
  const capped = use.capTokens != null || use.capCostUsd != null;
  const spent = Math.min(1, use.spent ?? 0);
  const parts = [
    `${use.usedTokens.toLocaleString('en')}${use.capTokens != null ? ` of ${use.capTokens.toLocaleString('en')}` : ''} tokens`,
    `$${use.usedCostUsd.toFixed(2)}${use.capCostUsd != null ? ` of $${use.capCostUsd.toFixed(2)}` : ''}`,
  ];
  return (
    <div class="budget-meter" data-testid="budget-meter">
      <div class="small">Used {per}: {parts.join(' · ')}</div>
      {capped && (
        <div class={`meter${spent >= 1 ? ' full' : ''}`} role="meter" aria-label={`Budget used ${per}`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(spent * 100)}>
          <span style={{ width: `${Math.round(spent * 100)}%` }} />
        </div>
      )}
    </div>
  );
}
