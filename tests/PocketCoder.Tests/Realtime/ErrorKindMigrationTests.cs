using Microsoft.Data.Sqlite;
using PocketCoder.Data;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Realtime;

/// <summary>
/// Agent errors were once stored and sent as <c>error</c>, the name a browser's EventSource keeps for its own failure
/// (issue #35). Migration 017 renames them: a session stored by an older server replays them as <c>session.error</c>,
/// with everything else in its log as it was.
/// </summary>
public sealed class ErrorKindMigrationTests
{
    [Fact]
    public async Task ErrorsStoredByAnOlderServer_AfterTheUpgrade_ReplayAsSessionError_TheRestUnchanged()
    {
        await using var world = await AgentWorld.StandInClaudeAsync("""
            read -r initialize
            read -r prompt
            echo "claude: out of memory" >&2
            exit 3
            """);
        var id = await world.StartSessionAsync("Fix the build");
        List<SseEvent> stored;
        await using (var events = await world.EventsAsync(id))
        {
            await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "failed");
            stored = [.. events.Received];
        }

        Assert.Contains(stored, e => e.Event == "session.error");
        await world.RestartServerAsync(whileDown: () =>
        {
            // The database as the server before the rename left it: its errors under the old name, migration 017 not yet run.
            using var connection = new SqliteConnection($"Data Source={Path.Combine(world.Server.DataDirectory, Database.FileName)};Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            // (And without what later migrations added, which run again after it.)
            command.CommandText = """
                UPDATE events SET kind = 'error' WHERE kind = 'session.error';
                ALTER TABLE sessions DROP COLUMN sandbox;
                ALTER TABLE sessions DROP COLUMN short_title;
                ALTER TABLE approvals DROP COLUMN can_edit_input;
                DROP INDEX schedules_by_device; DROP INDEX backlog_tasks_by_device; DROP INDEX queued_messages_by_device;
                ALTER TABLE schedules DROP COLUMN created_by_device; ALTER TABLE schedules DROP COLUMN held_reason;
                ALTER TABLE backlog_tasks DROP COLUMN created_by_device;
                ALTER TABLE queued_messages DROP COLUMN sent_by_device; ALTER TABLE queued_messages DROP COLUMN held_reason;
                DROP INDEX events_usage; DROP TABLE budget_warnings; DROP TABLE budget_raises;
                DROP TABLE approval_votes; DROP TABLE team_policies; DROP TABLE session_preparations;
                ALTER TABLE approvals DROP COLUMN risk; ALTER TABLE approvals DROP COLUMN decider_role;
                ALTER TABLE approvals DROP COLUMN needed; ALTER TABLE approvals DROP COLUMN escalated_at;
                DROP TABLE project_members; ALTER TABLE pairing_codes DROP COLUMN person_id; ALTER TABLE pairing_codes DROP COLUMN created_by_device;
                DROP TRIGGER events_usage_spend; DROP TABLE session_spend; DROP TABLE project_spend; DROP TABLE server_settings; DROP TABLE message_keys;
                ALTER TABLE approvals DROP COLUMN risk_signs;
                ALTER TABLE session_grants DROP COLUMN risk;
                DROP INDEX sessions_created_id; DROP INDEX sessions_project_created_id; DROP INDEX sessions_conversation; DROP INDEX ledger_project_added;
                ALTER TABLE sessions DROP COLUMN started_by; ALTER TABLE sessions DROP COLUMN started_by_person;
                DROP INDEX events_usage_at; DROP TABLE watch_openings; DROP TABLE watch_links;
                ALTER TABLE turn_reviews DROP COLUMN resume_at; ALTER TABLE sessions DROP COLUMN fork_conversation; ALTER TABLE sessions DROP COLUMN fork_at;
                DROP TABLE push_relays; ALTER TABLE notification_channels DROP COLUMN machine_origin;
                DROP TABLE decision_keys; DROP TABLE session_rewinds; DROP TABLE lockdown; DROP TABLE passkey_challenges; DROP TABLE passkeys; DROP TABLE session_goals;
                ALTER TABLE approvals DROP COLUMN asked_by_call; ALTER TABLE approvals DROP COLUMN asked_by_title;
                -- devices.person_id references people, so SQLite cannot drop it: the table is built again as it was.
                DROP INDEX devices_person;
                CREATE TABLE devices_before_people (id TEXT PRIMARY KEY, name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
                    created_at TEXT NOT NULL, last_seen_at TEXT, revoked_at TEXT);
                INSERT INTO devices_before_people SELECT id, name, token_hash, created_at, last_seen_at, revoked_at FROM devices;
                DROP TABLE devices; ALTER TABLE devices_before_people RENAME TO devices; DROP TABLE people;
                PRAGMA user_version = 16;
                """;
            command.ExecuteNonQuery();
        });

        await using var replay = await world.EventsAsync(id);
        await replay.WaitForAsync(e => e.Id == stored[^1].Id);
        Assert.Equal(stored.Select(e => (e.Id, e.Event, e.Data)), replay.Received.Select(e => (e.Id, e.Event, e.Data)));
    }
}
