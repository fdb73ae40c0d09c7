-- One authority (Teams/DecisionRights.cs, docs/security.md "People and roles").

-- An "allow for this session" grant remembers the kind of call it was given for: steering the session afterwards needs
-- the right to allow that kind alone (a grant is a standing allow, like a mode). Grants from before take the kind of the
-- decision that made them; one with no such decision on record counts as a shell grant (the strictest common reading).
ALTER TABLE session_grants ADD COLUMN risk TEXT NOT NULL DEFAULT 'shell';
UPDATE session_grants SET risk = COALESCE((
    SELECT a.risk FROM approvals a
    WHERE a.session_id = session_grants.session_id AND a.tool = session_grants.tool AND a.decision = 'allow_session'
    ORDER BY a.decided_at DESC LIMIT 1), 'shell');

-- What a budget counts is carried as it is spent, not summed from the events at every tool call and turn: each usage event
-- adds its tokens (input + output) and cost to its session's total and its project's day, in the transaction that records
-- it. A project's month is the sum of its days.
CREATE TABLE session_spend (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    tokens     INTEGER NOT NULL,
    cost_usd   REAL NOT NULL
);

CREATE TABLE project_spend (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    day        TEXT NOT NULL, -- yyyy-MM-dd, UTC
    tokens     INTEGER NOT NULL,
    cost_usd   REAL NOT NULL,
    PRIMARY KEY (project_id, day)
);

INSERT INTO session_spend (session_id, tokens, cost_usd)
SELECT session_id,
       SUM(COALESCE(json_extract(data, '$.inputTokens'), 0) + COALESCE(json_extract(data, '$.outputTokens'), 0)),
       SUM(COALESCE(json_extract(data, '$.costUsd'), 0))
FROM events WHERE kind = 'usage' GROUP BY session_id;

INSERT INTO project_spend (project_id, day, tokens, cost_usd)
SELECT s.project_id, substr(e.at, 1, 10),
       SUM(COALESCE(json_extract(e.data, '$.inputTokens'), 0) + COALESCE(json_extract(e.data, '$.outputTokens'), 0)),
       SUM(COALESCE(json_extract(e.data, '$.costUsd'), 0))
FROM events e JOIN sessions s ON s.id = e.session_id WHERE e.kind = 'usage' GROUP BY s.project_id, substr(e.at, 1, 10);

CREATE TRIGGER events_usage_spend AFTER INSERT ON events WHEN NEW.kind = 'usage'
BEGIN
    INSERT INTO session_spend (session_id, tokens, cost_usd)
    VALUES (NEW.session_id,
            COALESCE(json_extract(NEW.data, '$.inputTokens'), 0) + COALESCE(json_extract(NEW.data, '$.outputTokens'), 0),
            COALESCE(json_extract(NEW.data, '$.costUsd'), 0))
    ON CONFLICT (session_id) DO UPDATE SET tokens = tokens + excluded.tokens, cost_usd = cost_usd + excluded.cost_usd;
    INSERT INTO project_spend (project_id, day, tokens, cost_usd)
    SELECT project_id, substr(NEW.at, 1, 10),
           COALESCE(json_extract(NEW.data, '$.inputTokens'), 0) + COALESCE(json_extract(NEW.data, '$.outputTokens'), 0),
           COALESCE(json_extract(NEW.data, '$.costUsd'), 0)
    FROM sessions WHERE id = NEW.session_id
    ON CONFLICT (project_id, day) DO UPDATE SET tokens = tokens + excluded.tokens, cost_usd = cost_usd + excluded.cost_usd;
END;

-- "Raise the budget?" is a decision of its own kind (it held a fake tool named 'budget' before).
UPDATE approvals SET kind = 'budget' WHERE risk = 'budget';
