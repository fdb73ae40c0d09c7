// Costs at a glance (issue #55): tokens and cost over a chosen period, by day, project, agent, person or session, from
// the usage events the server recorded (GET /api/costs), with each project's budget beside them, and the same as CSV.
// Loaded on its own (app.tsx): it is not part of the first load.

import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type CostReport, type CostRow } from '../api';
import { BudgetMeter, sessionCapText } from '../components/TeamPolicy';
import { AppBar, ErrorNote } from '../components/ui';
import { Loading } from '../components/Loading';

export type Grouping = 'day' | 'project' | 'agent' | 'person' | 'session';
const GROUPINGS: { by: Grouping; label: string }[] = [
  { by: 'day', label: 'Day' }, { by: 'project', label: 'Project' }, { by: 'agent', label: 'Agent' },
  { by: 'person', label: 'Person' }, { by: 'session', label: 'Session' },
];
const SPANS = [7, 30, 90];

/** yyyy-MM-dd of a UTC day, as the server counts days. */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The last `days` days, today (UTC) included. */
export function lastDays(days: number, now = new Date()): { from: string; to: string } {
  return { from: utcDay(new Date(now.getTime() - (days - 1) * 86_400_000)), to: utcDay(now) };
}

export const tokens = (n: number): string => n.toLocaleString('en');
export const dollars = (n: number): string => `$${n.toFixed(n > 0 && n < 0.01 ? 4 : 2)}`;

export function Costs() {
  const [span, setSpan] = useState<number | 'range'>(30);
  const [range, setRange] = useState(lastDays(30));
  const [by, setBy] = useState<Grouping>('day');
  const [report, setReport] = useState<CostReport | null>(null);
  const [error, setError] = useState<string | null>(null);

  const period = span === 'range' ? range : lastDays(span);
  useEffect(() => {
    setError(null);
    api.costs(period.from, period.to, by).then(setReport, (e: unknown) => setError(describeError(e)));
  }, [period.from, period.to, by]);

  const csv = api.costsCsvUrl(period.from, period.to, by);
  return (
    <>
      <AppBar back="/" title="Costs" subtitle={`${period.from} to ${period.to} (UTC)`} />
      <main class="page costs">
        <div class="seg" role="group" aria-label="Period">
          {SPANS.map((days) => (
            <button key={days} class={`btn small${span === days ? ' primary' : ' ghost'}`} aria-pressed={span === days}
              onClick={() => setSpan(days)}>{days} days</button>
          ))}
          <button class={`btn small${span === 'range' ? ' primary' : ' ghost'}`} aria-pressed={span === 'range'}
            onClick={() => { setRange(period); setSpan('range'); }}>Dates</button>
        </div>
        {span === 'range' && (
          <div class="row costs-range">
            <label class="field grow"><span>From</span>
              <input type="date" name="from" value={range.from} max={range.to} onChange={(e) => setRange({ ...range, from: e.currentTarget.value || range.from })} />
            </label>
            <label class="field grow"><span>To</span>
              <input type="date" name="to" value={range.to} min={range.from} onChange={(e) => setRange({ ...range, to: e.currentTarget.value || range.to })} />
            </label>
          </div>
        )}
        <label class="field">
          <span>By</span>
          <select name="by" value={by} onChange={(e) => setBy(e.currentTarget.value as Grouping)}>
            {GROUPINGS.map((g) => <option key={g.by} value={g.by}>{g.label}</option>)}
          </select>
        </label>
        <ErrorNote error={error} />
        {!report && !error && <Loading />}
        {report && <Report report={report} />}
        <a class="btn ghost block" href={csv} download data-testid="costs-csv">Export CSV</a>
      </main>
    </>
  );
}

function Report({ report }: { report: CostReport }) {
  const total = report.total;
  const most = Math.max(...report.rows.map((r) => r.costUsd > 0 ? r.costUsd : 0), 0);
  const mostTokens = Math.max(...report.rows.map((r) => r.tokens), 1);
  return (
    <>
      <section class="card pad" data-testid="costs-total">
        <h2>Total</h2>
        <div class="costs-figures">
          <div><strong data-testid="costs-total-cost">{dollars(total.costUsd)}</strong><span class="muted small">cost</span></div>
          <div><strong data-testid="costs-total-tokens">{tokens(total.tokens)}</strong><span class="muted small">tokens in and out</span></div>
          <div><strong data-testid="costs-total-turns">{total.turns}</strong><span class="muted small">turns</span></div>
        </div>
        <p class="muted small">
          Cache: {tokens(total.cacheReadTokens)} read, {tokens(total.cacheWriteTokens)} written.
          {total.unpricedTurns > 0 && ` ${total.unpricedTurns} turn${total.unpricedTurns === 1 ? '' : 's'} had no cost reported (the agent says none): their tokens count, their cost is not known.`}
        </p>
      </section>
      {report.rows.length === 0
        ? <p class="muted">No usage recorded in this period.</p>
        : (
          <ul class="list costs-rows" aria-label={`By ${report.by}`}>
            {report.rows.map((row) => <Row key={row.key} row={row} by={report.by} share={most > 0 ? row.costUsd / most : row.tokens / mostTokens} />)}
          </ul>
        )}
      {report.budgets.length > 0 && (
        <section class="card pad" data-testid="costs-budgets">
          <h2>Budgets</h2>
          {report.budgets.map((b) => (
            <div key={b.projectId} class="costs-budget">
              <strong>{b.projectName}</strong>
              <BudgetMeter use={b.project ?? null} period={b.period} />
              <p class="muted small">{sessionCapText(b.sessionCap ?? null)}</p>
            </div>
          ))}
        </section>
      )}
    </>
  );
}

function Row({ row, by, share }: { row: CostRow; by: string; share: number }) {
  const label = row.label || (by === 'person' ? 'Not recorded' : row.key);
  return (
    <li class="list-row costs-row" data-testid="costs-row" data-key={row.key}>
      <div class="grow">
        <div class="row"><span class="grow costs-label">{label}</span><strong>{dollars(row.costUsd)}</strong></div>
        <div class="costs-bar" aria-hidden="true"><span style={{ width: `${Math.max(2, Math.round(share * 100))}%` }} /></div>
        <div class="muted small">{tokens(row.tokens)} tokens · {row.turns} turn{row.turns === 1 ? '' : 's'}</div>
      </div>
    </li>
  );
}
