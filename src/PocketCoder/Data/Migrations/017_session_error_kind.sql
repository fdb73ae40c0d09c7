-- The agent-error event was named `error`, which a browser's EventSource takes for its own connection failure: the app
-- reconnected at the same event for ever. It is `session.error` now; stored ones are renamed so old sessions replay.
UPDATE events SET kind = 'session.error' WHERE kind = 'error';
