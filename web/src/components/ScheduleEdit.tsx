import { useState } from 'preact/hooks';
import { api, describeError, type Schedule } from '../api';
import { choiceOf, cronOf, type RepeatChoice } from '../cron';
import { SchedulePicker } from './SchedulePicker';
import { ErrorNote } from './ui';

/** What an edit changes, and only that: an unchanged prompt must not make the schedule run on the editor's word. */
export function scheduleChange(before: Schedule, after: { name: string; prompt: string; cron: string; timeZone: string }) {
  const change: { name?: string; prompt?: string; cron?: string; timeZone?: string } = {};
  if (after.name.trim() && after.name.trim() !== before.name) change.name = after.name.trim();
  if (after.prompt.trim() && after.prompt.trim() !== before.prompt) change.prompt = after.prompt.trim();
  if (after.cron.trim() !== before.cron) change.cron = after.cron.trim();
  if (after.timeZone.trim() && after.timeZone.trim() !== before.timeZone) change.timeZone = after.timeZone.trim();
  return change;
}

/**
 * A schedule's name, words and times, edited in place. New words make it run on the editor's authority from then on
 * (the server records whose): the form says so before Save.
 */
export function ScheduleEdit({ schedule, onDone }: { schedule: Schedule; onDone: (saved: boolean) => void }) {
  const [name, setName] = useState(schedule.name);
  const [prompt, setPrompt] = useState(schedule.prompt);
  const [repeat, setRepeat] = useState<RepeatChoice>(() => choiceOf(schedule.cron));
  const [timeZone, setTimeZone] = useState(schedule.timeZone);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const cron = cronOf(repeat);
  const change = scheduleChange(schedule, { name, prompt, cron, timeZone });
  const nothing = Object.keys(change).length === 0;

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.updateSchedule(schedule.id, change);
      onDone(true);
    } catch (problem) {
      setError(describeError(problem));
      setBusy(false);
    }
  };

  return (
    <form class="stack schedule-edit" aria-label={`Edit schedule ${schedule.name}`} onSubmit={save}>
      <label class="field">
        <span>Name</span>
        <input name="schedule-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </label>
      <label class="field">
        <span>What it asks the agent</span>
        <textarea name="schedule-prompt" rows={3} value={prompt} onInput={(e) => setPrompt((e.target as HTMLTextAreaElement).value)} />
      </label>
      {change.prompt !== undefined && <p class="fine" data-testid="runs-on-you">With new words it runs on your word from now on.</p>}
      <SchedulePicker choice={repeat} onChange={(patch) => setRepeat((r) => ({ ...r, ...patch }))} cron={cron} timeZone={timeZone} />
      <label class="field">
        <span>Time zone</span>
        <input name="time-zone" value={timeZone} autoCapitalize="off" spellcheck={false} onInput={(e) => setTimeZone((e.target as HTMLInputElement).value)} />
      </label>
      <ErrorNote error={error} />
      <div class="row wrap-row">
        <button class="btn primary small" type="submit" disabled={busy || nothing}>{busy ? 'Saving…' : 'Save'}</button>
        <button class="btn ghost small" type="button" disabled={busy} onClick={() => onDone(false)}>Cancel</button>
      </div>
    </form>
  );
}
