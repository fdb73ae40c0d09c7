import { describe, expect, it } from 'vitest';
import type { Schedule } from '../api';
import { scheduleChange } from './ScheduleEdit';

const schedule = { id: 's1', name: 'Nightly', prompt: 'run the tests', cron: '0 3 * * *', timeZone: 'UTC' } as Schedule;

describe('scheduleChange', () => {
  it('sends nothing when nothing changed, so an untouched prompt never moves whose word it runs on', () => {
    expect(scheduleChange(schedule, { name: 'Nightly', prompt: 'run the tests', cron: '0 3 * * *', timeZone: 'UTC' })).toEqual({});
  });

  it('sends only what changed, trimmed', () => {
    expect(scheduleChange(schedule, { name: ' Nightly ', prompt: 'run the tests ', cron: '30 10 * * *', timeZone: 'Europe/Berlin' }))
      .toEqual({ cron: '30 10 * * *', timeZone: 'Europe/Berlin' });
    expect(scheduleChange(schedule, { name: 'Nightly', prompt: 'run the linter', cron: '0 3 * * *', timeZone: 'UTC' })).toEqual({ prompt: 'run the linter' });
  });

  it('never sends a blank name, prompt or zone', () => {
    expect(scheduleChange(schedule, { name: '  ', prompt: '', cron: '0 3 * * *', timeZone: ' ' })).toEqual({});
  });
});
