import { useEffect, useState } from 'preact/hooks';
import { api, type BacklogTask, describeError, type Schedule } from '../api';
import { AppBar, Empty, ErrorNote } from '../components/ui';
import { modeLabel } from '../modes';
import { linkTo } from '../router';
import { onNotice, reachable, useProject, useStore } from '../store';
import { agentName } from '../agents';
import { choiceOf, repeatLabel } from '../cron';
import { ScheduleEdit } from '../components/ScheduleEdit';

/** A time as the schedule's own zone reads it (that is what its cron means), e.g. "Mon 09:00". */
export function zoned(at: string, timeZone: string): string {
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone, weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
      .format(new Date(at));
  } catch {
    return new Date(at).toLocaleString();
  }
}

const STATUS_LABEL: Record<BacklogTask['status'], string> = {
  running: 'Running', waiting: 'Waiting', done: 'Done', failed: 'Failed', removed: 'Removed', held: 'Held',
};

/**
 * The project's backlog (tasks that start one after another, each a session of its own) and its schedules (which add
 * a task at each time their cron expression gives). Both are added from New session, under "When".
 */
export function Tasks({ projectId }: { projectId: string }) {
  const project = useProject(projectId);
  const [tasks, setTasks] = useState<BacklogTask[] | null>(null);
  const [schedules, setSchedules] = useState<Schedule[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [ranNow, setRanNow] = useState<string | null>(null);
  // Everyone reads the backlog and the schedules. Adding and removing them is for whoever may start a session here at all;
  // confirming a task, and pausing, resuming or confirming a schedule, make it run on this person's word, in its mode: offered
  // where the server offers that mode (`offers.modes`).
  const modes: readonly string[] = project?.offers?.modes ?? [];
  const steers = modes.length > 0;

  const load = () => {
    void api.tasks(projectId).then(setTasks, (e) => setError(describeError(e)));
    void api.schedules(projectId).then(setSchedules, (e) => setError(describeError(e)));
  };
  // The backlog moves on as sessions start and finish: the server says so (`backlog.changed`), and the lists are read
  // again then, and after a reconnection (when notices may have been missed).
  const connected = useStore(reachable);
  useEffect(load, [projectId, connected]);
  useEffect(() => onNotice('backlog.changed', (notice) => { if (notice.projectId === projectId) load(); }), [projectId]);

  const act = async (id: string, work: () => Promise<unknown>) => {
    setBusy(id);
    setError(null);
    try {
      await work();
    } catch (e) {
      setError(describeError(e));
    }
    setBusy(null);
    setDeleting(null);
    load();
  };

  return (
    <>
      <AppBar back="/" title="Tasks" subtitle={project?.name} />
      <main class="page stack">
        <ErrorNote error={error} />
        {steers && <a class="btn primary block" {...linkTo(`/p/${projectId}/new`)}>Add a task or schedule</a>}
        <section aria-label="Backlog">
          <div class="section-head"><h2>Backlog</h2></div>
          <p class="fine">Each task starts as a session of its own once the one before has finished its work.</p>
          {tasks?.length === 0 && <Empty><p>Nothing waiting.</p></Empty>}
          <ul class="list">
            {tasks?.map((t) => (
              <li key={t.id} class={`list-row${t.status === 'held' ? ' held' : ''}`} data-task={t.id} data-status={t.status}>
                <div class="grow">
                  <div class="session-title">{t.prompt}</div>
                  <div class="muted small">
                    {STATUS_LABEL[t.status]} · {agentName(t.agent)} · {modeLabel(t.mode)}{t.worktree ? ' · own branch' : ''}
                    {t.scheduleId ? ` · ${t.createdBy}` : ''}{t.problem && t.status !== 'held' ? ` · ${t.problem}` : ''}
                  </div>
                  {t.status === 'held' && t.problem && <div class="warn-note" role="status">{t.problem}</div>}
                </div>
                <div class="row wrap-row">
                  {t.sessionId && <a class="btn ghost small" {...linkTo(`/s/${t.sessionId}`)}>Open</a>}
                  {modes.includes(t.mode) && t.status === 'held' && (
                    <button class="btn primary small" disabled={busy !== null} aria-label={`Confirm task: ${t.prompt.slice(0, 40)}`}
                      onClick={() => void act(t.id, () => api.confirmTask(t.id))}>Confirm</button>
                  )}
                  {steers && (t.status === 'waiting' || t.status === 'held') && (
                    <button class="btn danger-ghost small" disabled={busy !== null} aria-label={`Remove task: ${t.prompt.slice(0, 40)}`}
                      onClick={() => void act(t.id, () => api.removeTask(t.id))}>Remove</button>
                  )}
                </div>
              </li>
            ))}
          </ul>
        </section>
        <section aria-label="Schedules">
          <div class="section-head"><h2>Schedules</h2></div>
          {schedules?.length === 0 && <Empty><p>No schedules.</p></Empty>}
          <ul class="list">
            {schedules?.map((s) => (
              <li key={s.id} class="list-row schedule" data-schedule={s.id}>
                <div class="grow">
                  <div class="session-title">{s.name}</div>
                  <div class="muted small">{choiceOf(s.cron).repeat !== 'custom' && <>{repeatLabel(choiceOf(s.cron))} </>}<code>{s.cron}</code> · {s.timeZone} · {agentName(s.agent)} · {modeLabel(s.mode)}</div>
                  <div class="small" data-testid="next-run">
                    {s.enabled && s.nextRunAt ? `Next: ${zoned(s.nextRunAt, s.timeZone)}` : 'Paused'}
                    {s.lastRunAt ? ` · last ${zoned(s.lastRunAt, s.timeZone)}` : ''}
                  </div>
                  {s.heldReason && <div class="warn-note" role="status" data-testid="held">{s.heldReason}</div>}
                  {s.missedRuns > 0 && s.lastMissedAt && (
                    <div class="warn-note" role="status">
                      Missed {s.missedRuns} run{s.missedRuns === 1 ? '' : 's'} while the server was down (last {zoned(s.lastMissedAt, s.timeZone)}); they were not run late.
                    </div>
                  )}
                  {editing === s.id && <ScheduleEdit schedule={s} onDone={(saved) => { setEditing(null); if (saved) load(); }} />}
                  {ranNow === s.id && <p class="fine" role="status" data-testid="ran-now">Added to the backlog: it starts after the tasks before it.</p>}
                </div>
                {steers && editing !== s.id && (
                  <div class="row wrap-row">
                    {modes.includes(s.mode) && !s.heldReason && (
                      <button class="btn ghost small" disabled={busy !== null} aria-label={`Run now: ${s.name}`}
                        onClick={() => void act(s.id, async () => { await api.runSchedule(s.id); setRanNow(s.id); })}>Run now</button>
                    )}
                    {modes.includes(s.mode) && (
                      <button class="btn ghost small" disabled={busy !== null} aria-label={`Edit schedule: ${s.name}`} onClick={() => setEditing(s.id)}>Edit</button>
                    )}
                    {modes.includes(s.mode) && (
                      <button class="btn ghost small" disabled={busy !== null} onClick={() => void act(s.id, () => api.updateSchedule(s.id, { enabled: !s.enabled }))}>
                        {s.enabled ? 'Pause' : s.heldReason ? 'Confirm' : 'Resume'}
                      </button>
                    )}
                    {deleting === s.id
                      ? <button class="btn danger small" disabled={busy !== null} onClick={() => void act(s.id, () => api.deleteSchedule(s.id))}>Delete it</button>
                      : <button class="btn danger-ghost small" disabled={busy !== null} onClick={() => setDeleting(s.id)}>Delete…</button>}
                  </div>
                )}
              </li>
            ))}
          </ul>
        </section>
      </main>
    </>
  );
}
