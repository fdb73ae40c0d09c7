-- What each turn changed in the project: the working tree as a git tree when the turn began and when it ended
-- (WorktreeSnapshots). The trees live in the project's own object store; these rows only name them.
CREATE TABLE turn_reviews (
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    turn        INTEGER NOT NULL,
    before_tree TEXT NOT NULL,
    after_tree  TEXT,
    files       INTEGER,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (session_id, turn)
);
