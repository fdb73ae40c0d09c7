-- A project's team policy (Approvals/TeamPolicy.cs): who decides each kind of call, the two-person kinds, escalation and
-- budgets, as one JSON document. No row: approvers and owners decide everything, one allow is enough, no budget.
CREATE TABLE team_policies (
    project_id TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    policy     TEXT NOT NULL
);

-- Kept with each question when it is asked, so a policy changed while it waits does not change who may decide it:
-- its risk class, the least role that decides it, how many different people must allow it, and when it was escalated.
ALTER TABLE approvals ADD COLUMN risk TEXT NOT NULL DEFAULT 'other';
ALTER TABLE approvals ADD COLUMN decider_role TEXT NOT NULL DEFAULT 'approver';
ALTER TABLE approvals ADD COLUMN needed INTEGER NOT NULL DEFAULT 1;
ALTER TABLE approvals ADD COLUMN escalated_at TEXT;
UPDATE approvals SET risk = CASE kind WHEN 'execute' THEN 'shell' WHEN 'read' THEN 'read' WHEN 'edit' THEN 'edit' WHEN 'fetch' THEN 'fetch'
    WHEN 'mcp' THEN 'mcp' WHEN 'question' THEN 'question' ELSE 'other' END;

-- The allows given so far to a call that needs two people: one row a person (their first device's press counts).
CREATE TABLE approval_votes (
    approval_id TEXT NOT NULL REFERENCES approvals(id) ON DELETE CASCADE,
    person_id   TEXT NOT NULL,
    person_name TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (approval_id, person_id)
);
