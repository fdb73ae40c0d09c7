using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Data;
using PocketCoder.Realtime;

namespace PocketCoder.Bench;

/// <summary>Where an append's time goes: the whole append, then each of its parts alone, no subscribers.</summary>
public static class AppendBreakdown
{
    public static List<Row> Run(WebApplication app, string sessionId, int count)
    {
        var database = app.Services.GetRequiredService<Database>();
        var log = app.Services.GetRequiredService<PocketCoder.Realtime.EventLog>();
        var text = new string('x', 40);
        var rows = new List<Row>();

        void Measure(string what, Action<int> step, int n, int eventsPerStep = 1)
        {
            for (var i = 0; i < Math.Min(500, n); i++)
            {
                step(i);
            }

            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < n; i++)
            {
                step(i);
            }

            var micros = Stopwatch.GetElapsedTime(start).TotalMilliseconds * 1000 / n / eventsPerStep;
            rows.Add(new Row($"  append breakdown: {what}", $"{Stats.F(micros, 1)} µs each", "", "", "", $"{Stats.F(1_000_000 / micros, 0)} /s"));
        }

        Measure("EventLog.Append, whole (one transaction per event)", _ =>
            log.Append(sessionId, new MessageDeltaEvent(text)), count);
        Measure("payload JSON only (typed event, source-generated)", _ => PocketCoder.Realtime.EventLog.Payload(sessionId, 1L, new MessageDeltaEvent(text)), count);
        Measure("empty transaction (BEGIN + COMMIT)", _ => database.Write(_ => { }), count);
        Measure("the two statements, one transaction each", _ => database.Write(write => Statements(write, sessionId, text)), count);
        Measure("the two statements, 100 per transaction (group commit)", _ => database.Write(write =>
        {
            for (var j = 0; j < 100; j++)
            {
                Statements(write, sessionId, text);
            }
        }), count / 100, 100);
        return rows;
    }

    private static void Statements(DbWrite write, string sessionId, string text)
    {
        var seq = write.Scalar<long>("UPDATE sessions SET last_seq = last_seq + 1, updated_at = $at WHERE id = $id RETURNING last_seq",
            ("$id", sessionId), ("$at", "2026-01-01T00:00:00.0000000Z"));
        write.Scalar<long>("INSERT INTO events (session_id, seq, kind, data, at) VALUES ($session, $seq, $kind, $data, $at) RETURNING id",
            ("$session", sessionId), ("$seq", seq), ("$kind", "message.delta"), ("$data", text), ("$at", "2026-01-01T00:00:00.0000000Z"));
    }
}
