-- Devices that may call the API. Tokens are stored only as SHA-256 hashes.
CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT,
    revoked_at   TEXT
);

-- One-time pairing codes, hashed like tokens: reading the database does not let anyone pair.
CREATE TABLE pairing_codes (
    code_hash  TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    device_id  TEXT
);

CREATE TABLE projects (
    id                       TEXT PRIMARY KEY,
    name                     TEXT NOT NULL,
    path                     TEXT NOT NULL UNIQUE,
    created_at               TEXT NOT NULL,
    approval_timeout_seconds INTEGER
);

CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    agent            TEXT NOT NULL,
    model            TEXT,
    mode             TEXT NOT NULL DEFAULT 'ask',
    status           TEXT NOT NULL,
    agent_session_id TEXT NOT NULL,
    title            TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    last_seq         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_project ON sessions(project_id);

-- The event log. seq is per session and gapless; id orders the log across sessions (the dashboard stream).
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    data       TEXT NOT NULL,
    at         TEXT NOT NULL,
    UNIQUE (session_id, seq)
);

CREATE TABLE approvals (
    id            TEXT PRIMARY KEY,
    session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    project_id    TEXT NOT NULL,
    tool_call_id  TEXT NOT NULL,
    tool          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    input         TEXT NOT NULL,
    plan          TEXT,
    -- The rule "always allow" would add: the command or project-relative path, or * for anything.
    rule_pattern  TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    decision      TEXT,
    decided_by    TEXT,
    decided_at    TEXT,
    message       TEXT,
    updated_input TEXT
);
CREATE INDEX approvals_status ON approvals(status, created_at);
CREATE INDEX approvals_session ON approvals(session_id);

-- Which device has been shown which pending approval, so a notifier can reach the ones that have not.
CREATE TABLE approval_deliveries (
    approval_id  TEXT NOT NULL REFERENCES approvals(id) ON DELETE CASCADE,
    device_id    TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    PRIMARY KEY (approval_id, device_id)
);

CREATE TABLE rules (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    tool       TEXT NOT NULL,
    pattern    TEXT NOT NULL,
    action     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT
);
CREATE INDEX rules_project ON rules(project_id);

-- "Allow for this session" grants, by tool.
CREATE TABLE session_grants (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    tool       TEXT NOT NULL,
    PRIMARY KEY (session_id, tool)
);

-- Append-only, hash-chained record of every decision and security-relevant change.
CREATE TABLE ledger (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
