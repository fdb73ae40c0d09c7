-- Settings the owner changed through the API, kept across restarts (a key each; the value as text). Unset, the server's
-- configuration (pocketcoder.json, POCKETCODER_*, flags) or its default decides. First: max_running_agents (Sessions/Resources.cs).
CREATE TABLE server_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
