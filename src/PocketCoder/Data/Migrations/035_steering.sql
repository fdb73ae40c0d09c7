-- Steer the whole run (issue #55).
-- Costs at a glance (Costs/CostReport.cs): every usage event of a period, whichever session, read off their time.
CREATE INDEX events_usage_at ON events (at) WHERE kind = 'usage';

-- A link to watch one session (Watch/WatchLinks.cs, docs/security.md "A link to watch"): only SHA-256 hashes of the link's
-- secret (carried in the link's fragment) and of each opening's cookie are kept. Each opening is a row, and a ledger entry.
CREATE TABLE watch_links (
    id                TEXT PRIMARY KEY,
    session_id        TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    project_id        TEXT NOT NULL,
    secret_hash       TEXT NOT NULL UNIQUE,
    created_by        TEXT NOT NULL,
    created_by_device TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    revoked_at        TEXT,
    revoked_by        TEXT
);
CREATE INDEX watch_links_live ON watch_links (expires_at) WHERE revoked_at IS NULL;

CREATE TABLE watch_openings (
    id          TEXT PRIMARY KEY,
    link_id     TEXT NOT NULL REFERENCES watch_links(id) ON DELETE CASCADE,
    cookie_hash TEXT NOT NULL UNIQUE,
    opened_at   TEXT NOT NULL,
    address     TEXT,
    user_agent  TEXT
);
CREATE INDEX watch_openings_link ON watch_openings (link_id, opened_at);
