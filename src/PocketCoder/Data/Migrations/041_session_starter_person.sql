-- Who started a session, as a person rather than a name (names are not unique, and change): the person whose device
-- started it, or 'device:' and the device's id for a device that is no one's. The line for agent slots suspends the first
-- waiter's own idle sessions first (SessionManager.MakeRoomAsync). Sessions started before this have NULL; the line then
-- compares their starters' names, as it did.
ALTER TABLE sessions ADD COLUMN started_by_person TEXT;
