-- MCP servers per project (#19). A server added in PocketCoder has its definition here (its variables' and headers'
-- values are in mcp-secrets.json, 0600, never in the database); one a file declares (the repository's .mcp.json, an
-- agent's own config) has only the owner's choice here: on or off, and the fingerprint of the definition they enabled.
CREATE TABLE mcp_servers (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    origin TEXT NOT NULL,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    command TEXT,
    args TEXT,
    url TEXT,
    approved TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (project_id, origin, name)
);

-- The servers a profile's sessions get (a JSON array of names; NULL: every enabled one), and what a session took from
-- its profile (kept with the session, as its instructions are).
ALTER TABLE agent_profiles ADD COLUMN mcp_servers TEXT;
ALTER TABLE sessions ADD COLUMN mcp_servers TEXT;
