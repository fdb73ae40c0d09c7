-- Standing work (Auth/StandingWork.cs): what a device set going that starts later without it runs on that device's
-- authority. created_by_device / sent_by_device: the device (a schedule's tasks: the schedule's). Revoking the device
-- holds whatever of it has not started: a schedule is disabled with held_reason set, a waiting task becomes 'held'
-- (problem says why), a queued message gets held_reason and stops the queue at its place. Another device confirms it.
ALTER TABLE schedules ADD COLUMN created_by_device TEXT;
ALTER TABLE schedules ADD COLUMN held_reason TEXT;
ALTER TABLE backlog_tasks ADD COLUMN created_by_device TEXT;
ALTER TABLE queued_messages ADD COLUMN sent_by_device TEXT;
ALTER TABLE queued_messages ADD COLUMN held_reason TEXT;
CREATE INDEX schedules_by_device ON schedules (created_by_device);
CREATE INDEX backlog_tasks_by_device ON backlog_tasks (created_by_device);
CREATE INDEX queued_messages_by_device ON queued_messages (sent_by_device);

-- What was added before this migration: the ledger names the device of each schedule and task added by hand; a
-- queued message only its sender's name, taken when exactly one device has it. A device revoked before this
-- migration thus still has its work held when it would run (StandingWork checks at each start).
UPDATE schedules SET created_by_device =
    (SELECT json_extract(detail, '$.deviceId') FROM ledger WHERE action = 'schedule.added' AND subject = schedules.id ORDER BY seq LIMIT 1);
UPDATE backlog_tasks SET created_by_device = COALESCE(
    (SELECT json_extract(detail, '$.deviceId') FROM ledger WHERE action = 'task.added' AND subject = backlog_tasks.id ORDER BY seq LIMIT 1),
    (SELECT created_by_device FROM schedules WHERE schedules.id = backlog_tasks.schedule_id));
UPDATE queued_messages SET sent_by_device = (SELECT id FROM devices WHERE devices.name = queued_messages.sent_by)
WHERE (SELECT COUNT(*) FROM devices WHERE devices.name = queued_messages.sent_by) = 1;
