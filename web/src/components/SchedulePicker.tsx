import { nextRuns, REPEATS, runLabel, WEEKDAYS, type Repeat, type RepeatChoice } from '../cron';
import { Icon } from './ui';

/** A schedule as people say it, the cron it makes, and the next three times it gives (worked out here, in its time zone). */
export function SchedulePicker({ choice, onChange, cron, timeZone }: { choice: RepeatChoice; onChange: (patch: Partial<RepeatChoice>) => void; cron: string; timeZone: string }) {
  let runs: Date[] | null = null;
  try {
    runs = nextRuns(cron, timeZone.trim() || 'UTC', new Date());
  } catch {
    runs = null;
  }
  return (
    <div class="stack schedule-picker">
      <label class="field">
        <span>Repeat</span>
        <select name="repeat" value={choice.repeat} onChange={(e) => {
          const repeat = (e.target as HTMLSelectElement).value as Repeat;
          // Custom starts from what the preset said, to edit rather than retype.
          onChange(repeat === 'custom' && choice.repeat !== 'custom' ? { repeat, custom: cron } : { repeat });
        }}>
          {REPEATS.map((r) => <option key={r.id} value={r.id}>{r.label}</option>)}
        </select>
      </label>
      {choice.repeat === 'weekly' && (
        <label class="field">
          <span>On</span>
          <select name="weekday" value={String(choice.weekday)} onChange={(e) => onChange({ weekday: Number((e.target as HTMLSelectElement).value) })}>
            {WEEKDAYS.map((d, i) => <option key={d} value={String(i)}>{d}</option>)}
          </select>
        </label>
      )}
      {(choice.repeat === 'weekdays' || choice.repeat === 'daily' || choice.repeat === 'weekly') && (
        <label class="field">
          <span>At</span>
          <input type="time" name="time" value={choice.time} required onInput={(e) => onChange({ time: (e.target as HTMLInputElement).value || choice.time })} />
        </label>
      )}
      {choice.repeat === 'hourly' && (
        <label class="field">
          <span>At minute</span>
          <input type="number" name="minute" inputMode="numeric" min={0} max={59} value={choice.minute}
            onInput={(e) => onChange({ minute: Math.min(59, Math.max(0, Number.parseInt((e.target as HTMLInputElement).value, 10) || 0)) })} />
        </label>
      )}
      {choice.repeat === 'custom' && (
        <label class="field">
          <span>Cron <span class="muted">(minute hour day month weekday)</span></span>
          <input name="cron" class="mono" value={choice.custom} autoCapitalize="off" spellcheck={false} placeholder="0 9 * * 1-5"
            onInput={(e) => onChange({ custom: (e.target as HTMLInputElement).value })} />
        </label>
      )}
      <div class="next-runs" data-testid="next-runs" aria-live="polite">
        {runs === null
          ? <p class="error-note small">Not a schedule that can be worked out: five fields, like 0 9 * * 1-5, and a time zone such as Europe/Berlin.</p>
          : runs.length === 0
            ? <p class="muted small">It would never run.</p>
            : <><span class="muted small">Next runs</span><ol class="plain">{runs.map((r) => <li key={r.getTime()}><Icon name="history" size={16} /> {runLabel(r, timeZone.trim() || 'UTC')}</li>)}</ol></>}
      </div>
    </div>
  );
}

