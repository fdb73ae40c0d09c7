-- Scale that stays flat (issue #52): every list a phone opens reads its page off an index, however large the data folder.
-- The session list, newest first (LIMIT 1000), all of them or a project's: without these, every session is sorted first.
CREATE INDEX sessions_created ON sessions (created_at);
CREATE INDEX sessions_project_created ON sessions (project_id, created_at);
-- The folders a new project is offered (Projects/Folders.cs): the newest project.added entries, not a walk of the ledger.
CREATE INDEX ledger_project_added ON ledger (seq) WHERE action = 'project.added';
