-- An archived session is hidden from the app's lists but kept, with its events and its ledger entries.
ALTER TABLE sessions ADD COLUMN archived_at TEXT;
