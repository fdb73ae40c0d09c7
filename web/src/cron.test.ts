import { describe, expect, it } from 'vitest';
import { choiceOf, cronOf, nextRuns, parseCron } from './cron';

const iso = (dates: Date[] | null) => dates?.map((d) => d.toISOString());

describe('cron', () => {
  it('turns the presets into the cron the server stores, and reads them back', () => {
    const base = { time: '09:00', weekday: 1, minute: 0, custom: '' };
    expect(cronOf({ ...base, repeat: 'weekdays' })).toBe('0 9 * * 1-5');
    expect(cronOf({ ...base, repeat: 'daily', time: '18:30' })).toBe('30 18 * * *');
    expect(cronOf({ ...base, repeat: 'weekly', weekday: 0, time: '07:05' })).toBe('5 7 * * 0');
    expect(cronOf({ ...base, repeat: 'hourly', minute: 15 })).toBe('15 * * * *');
    expect(cronOf({ ...base, repeat: 'custom', custom: ' */10 * * * * ' })).toBe('*/10 * * * *');
    expect(choiceOf('0 9 * * 1-5')).toMatchObject({ repeat: 'weekdays', time: '09:00' });
    expect(choiceOf('30 18 * * *')).toMatchObject({ repeat: 'daily', time: '18:30' });
    expect(choiceOf('5 7 * * 0')).toMatchObject({ repeat: 'weekly', weekday: 0, time: '07:05' });
    expect(choiceOf('15 * * * *')).toMatchObject({ repeat: 'hourly', minute: 15 });
    expect(choiceOf('0 9 1 * *')).toMatchObject({ repeat: 'custom', custom: '0 9 1 * *' });
  });

  it('refuses what is not five valid fields', () => {
    for (const bad of ['', '* * * *', '60 * * * *', '* 24 * * *', '* * 0 * *', '* * * 13 *', '* * * * 8', '5-1 * * * *', 'x * * * *']) {
      expect(parseCron(bad), bad).toBeNull();
      expect(nextRuns(bad, 'UTC', new Date()), bad).toBeNull();
    }
    expect(parseCron('*/15 9-17 * jan-mar mon-fri')).not.toBeNull();
  });

  it('gives the next weekday mornings, skipping the weekend, in the schedule\'s time zone', () => {
    // Friday 2025-06-06 10:00 UTC: Friday 09:00 has passed in UTC.
    const from = new Date('2025-06-06T10:00:00Z');
    expect(iso(nextRuns('0 9 * * 1-5', 'UTC', from))).toEqual(['2025-06-09T09:00:00.000Z', '2025-06-10T09:00:00.000Z', '2025-06-11T09:00:00.000Z']);
    // In New York (UTC-4 in June) it is 06:00 on Friday: Friday's 09:00 is still to come.
    expect(iso(nextRuns('0 9 * * 1-5', 'America/New_York', from))).toEqual(['2025-06-06T13:00:00.000Z', '2025-06-09T13:00:00.000Z', '2025-06-10T13:00:00.000Z']);
  });

  it('steps, hours, 7 for Sunday, and day-of-month or day-of-week when both are set', () => {
    const from = new Date('2025-06-06T10:07:00Z');
    expect(iso(nextRuns('*/20 * * * *', 'UTC', from))).toEqual(['2025-06-06T10:20:00.000Z', '2025-06-06T10:40:00.000Z', '2025-06-06T11:00:00.000Z']);
    expect(iso(nextRuns('0 8 * * 7', 'UTC', from, 1))).toEqual(['2025-06-08T08:00:00.000Z']);
    // The 10th, or any Monday.
    expect(iso(nextRuns('0 0 10 * 1', 'UTC', from))).toEqual(['2025-06-09T00:00:00.000Z', '2025-06-10T00:00:00.000Z', '2025-06-16T00:00:00.000Z']);
    expect(iso(nextRuns('0 0 29 2 *', 'UTC', from, 1))).toEqual(['2028-02-29T00:00:00.000Z']);
  });

  it('skips a time the clocks jump over', () => {
    // Europe/Berlin skips 02:00-03:00 on 2025-03-30.
    const from = new Date('2025-03-29T12:00:00Z');
    expect(iso(nextRuns('30 2 * * *', 'Europe/Berlin', from, 2))).toEqual(['2025-03-31T00:30:00.000Z', '2025-04-01T00:30:00.000Z']);
  });
});
