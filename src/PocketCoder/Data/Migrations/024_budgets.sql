-- Budgets (Approvals/Budgets.cs). What was spent is read from the usage events already recorded; these tables hold only
-- what a person added to a cap (a raise, granted through a "raise the budget?" decision) and which 80 % warnings went out.
-- scope: 'session' (session_id set, over its life) or 'project' (period_start set: the day or month it counts in).
CREATE TABLE budget_raises (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    scope        TEXT NOT NULL CHECK (scope IN ('session', 'project')),
    session_id   TEXT,
    period_start TEXT,
    tokens       INTEGER,
    cost_usd     REAL,
    approval_id  TEXT NOT NULL,
    raised_by    TEXT NOT NULL,
    at           TEXT NOT NULL
);
CREATE INDEX budget_raises_project ON budget_raises (project_id, scope);

CREATE TABLE budget_warnings (
    project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    scope        TEXT NOT NULL,
    subject      TEXT NOT NULL, -- the session id, or the period's start for a project
    at           TEXT NOT NULL,
    PRIMARY KEY (project_id, scope, subject)
);

-- Summing a project's usage over a day or a month reads only its usage events.
CREATE INDEX events_usage ON events (session_id, at) WHERE kind = 'usage';
