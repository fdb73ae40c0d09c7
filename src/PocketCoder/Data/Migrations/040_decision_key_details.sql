-- What a key's decision said besides its kind (DecisionKeys.Said: a digest of its message, pattern and edit), so that the
-- same key with a changed edit or other words is refused rather than answered as the first decision. A key recorded before
-- this has '' and matches no retry: sent again, it is refused (422) instead of replayed, and nothing is decided twice.
ALTER TABLE decision_keys ADD COLUMN details TEXT NOT NULL DEFAULT '';
