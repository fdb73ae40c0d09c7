-- Which subagent asked (docs/web.md, the inbox): the call that started it and that call's title, read when asking, so the
-- inbox card, which has no session log to look in, names it as the session's card does. Both NULL for the main thread.
ALTER TABLE approvals ADD COLUMN asked_by_call TEXT;
ALTER TABLE approvals ADD COLUMN asked_by_title TEXT;
