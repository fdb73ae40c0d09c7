-- A rewind can be undone for a while (docs/steering.md, "Rewind and fork"): the session it made, the session it rewound and to
-- which turn, the working tree just before it (kept from git gc on refs/pocketcoder/rewinds/<session_id>) and as it left it
-- (an undo refuses once the files moved on from that), and the paths that were not the agent's doing with what was done to them.
CREATE TABLE session_rewinds (
    session_id  TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    rewound_id  TEXT NOT NULL,
    turn        INTEGER NOT NULL,
    before_tree TEXT NOT NULL,
    after_tree  TEXT NOT NULL,
    others      TEXT NOT NULL,
    kept        INTEGER NOT NULL,
    rewound_at  TEXT NOT NULL,
    undone_at   TEXT
);
