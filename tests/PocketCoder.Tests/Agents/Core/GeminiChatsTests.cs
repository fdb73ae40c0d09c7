using Microsoft.Extensions.Logging.Abstractions;
using PocketCoder.Agents.Acp;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>
/// What the Gemini CLI workaround does to its chat files (docs/agents-acp.md, Resume), on files shaped like those Gemini CLI
/// 0.61 writes: only the start-up files of the session being loaded go, only while its conversation is there, and the
/// conversation's own file is renamed out of the start-up name before a load, never after.
/// </summary>
[Trait("Category", "Unit")]
public sealed class GeminiChatsTests : IDisposable
{
    private const string Session = "aecb558e-625b-4c4e-916c-afbb39feb875";
    private const string SameShortId = "aecb558e-0000-4000-8000-000000000000";

    private readonly string _home = TempPaths.NewDirectory("pc-gemini-home");
    private readonly string _chats;

    public GeminiChatsTests()
    {
        _chats = Path.Combine(_home, ".gemini", "tmp", "demo", "chats");
        Directory.CreateDirectory(_chats);
    }

    public void Dispose() => TempPaths.Delete(_home);

    [Fact]
    public void BeforeLoad_ConversationAndLeftStartUpFile_StartUpDeletedConversationRenamedOutOfTheStartUpName()
    {
        Write("session-2026-11-25T03-07-aecb558e.jsonl", Header(Session), StartUpMessages(), Message("user", "Remember PERSIMMON."));
        Write("session-2026-11-25T03-09-aecb558e.jsonl", Header(Session), StartUpMessages(), Header(Session), StartUpMessages());

        Chats().BeforeLoad(Session);

        Assert.Equal(["session-2026-11-25T03-07-pocketcoder-aecb558e.jsonl"], Names());
    }

    [Fact]
    public void AfterLoad_StartUpFileOfTheLoad_DeletedAndTheRunningConversationKeepsItsName()
    {
        Write("session-2026-11-25T03-07-aecb558e.jsonl", Header(Session), Message("user", "Remember PERSIMMON."), Message("gemini", "Noted."));
        Write("session-2026-11-25T03-09-aecb558e.jsonl", Header(Session), StartUpMessages());

        Chats().AfterLoad(Session);

        Assert.Equal(["session-2026-11-25T03-07-aecb558e.jsonl"], Names());
    }

    [Fact]
    public void Tidy_AConversationHeldOnlyInAnUpdate_CountsAsAConversation()
    {
        Write("session-2026-11-25T03-07-aecb558e.jsonl", Header(Session), """{"$set":{"messages":[{"id":"m","type":"gemini","content":"Noted."}]}}""");
        Write("session-2026-11-25T03-09-aecb558e.jsonl", Header(Session), StartUpMessages());

        Chats().AfterLoad(Session);

        Assert.Equal(["session-2026-11-25T03-07-aecb558e.jsonl"], Names());
    }

    [Fact]
    public void Tidy_NoConversation_StartUpFileLeftAlone()
    {
        // A new conversation's own file before its first message looks just like a start-up file.
        Write("session-2026-11-25T03-07-aecb558e.jsonl", Header(Session), StartUpMessages());

        Chats().BeforeLoad(Session);

        Assert.Equal(["session-2026-11-25T03-07-aecb558e.jsonl"], Names());
    }

    [Fact]
    public void Tidy_AnotherSessionWithTheSameShortIdAndUnknownRecords_LeftAlone()
    {
        Write("session-2026-11-25T03-07-aecb558e.jsonl", Header(Session), Message("user", "Remember PERSIMMON."));
        Write("session-2026-11-25T03-08-aecb558e.jsonl", Header(SameShortId), StartUpMessages());
        Write("session-2026-11-25T03-09-aecb558e.jsonl", Header(Session), """{"$rewindTo":"m"}""");
        Write("session-2026-11-25T03-10-aecb558e.jsonl", "not json");

        Chats().AfterLoad(Session);

        Assert.Equal(
            ["session-2026-11-25T03-07-aecb558e.jsonl", "session-2026-11-25T03-08-aecb558e.jsonl", "session-2026-11-25T03-09-aecb558e.jsonl",
                "session-2026-11-25T03-10-aecb558e.jsonl"],
            Names());
    }

    [Fact]
    public void Tidy_ChatsLinkedElsewhere_NotFollowed()
    {
        var elsewhere = TempPaths.NewDirectory("pc-elsewhere");
        try
        {
            // A project folder and a chats folder planted as links; neither is read.
            var target = Directory.CreateDirectory(Path.Combine(elsewhere, "chats")).FullName;
            File.WriteAllLines(Path.Combine(target, "session-2026-11-25T03-07-aecb558e.jsonl"), [Header(Session), Message("user", "Remember PERSIMMON.")]);
            File.WriteAllLines(Path.Combine(target, "session-2026-11-25T03-09-aecb558e.jsonl"), [Header(Session), StartUpMessages()]);
            Directory.CreateSymbolicLink(Path.Combine(_home, ".gemini", "tmp", "linked"), elsewhere);
            Directory.CreateSymbolicLink(Path.Combine(Directory.CreateDirectory(Path.Combine(_home, ".gemini", "tmp", "other")).FullName, "chats"), target);

            Chats().BeforeLoad(Session);

            Assert.Equal(
                ["session-2026-11-25T03-07-aecb558e.jsonl", "session-2026-11-25T03-09-aecb558e.jsonl"],
                Directory.EnumerateFiles(target).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        }
        finally
        {
            TempPaths.Delete(elsewhere);
        }
    }

    [Fact]
    public void For_GeminiCliHomeInTheAgentsEnvironment_WinsOverHome()
    {
        Write("session-2026-11-25T03-07-aecb558e.jsonl", Header(Session), Message("user", "Remember PERSIMMON."));
        var elsewhere = TempPaths.NewDirectory("pc-elsewhere");
        try
        {
            GeminiChats.For(new Dictionary<string, string?> { ["HOME"] = elsewhere, ["GEMINI_CLI_HOME"] = _home }, null, NullLogger.Instance).BeforeLoad(Session);
            Assert.Equal(["session-2026-11-25T03-07-pocketcoder-aecb558e.jsonl"], Names());
        }
        finally
        {
            TempPaths.Delete(elsewhere);
        }
    }

    private GeminiChats Chats() => GeminiChats.For(new Dictionary<string, string?> { ["HOME"] = _home, ["GEMINI_CLI_HOME"] = null }, null, NullLogger.Instance);

    private string[] Names() => [.. Directory.EnumerateFiles(_chats).Select(Path.GetFileName).Order(StringComparer.Ordinal).OfType<string>()];

    private void Write(string name, params string[] lines) => File.WriteAllLines(Path.Combine(_chats, name), lines);

    private static string Header(string sessionId) =>
        $$"""{"sessionId":"{{sessionId}}","projectHash":"efa34e4a","startTime":"2026-11-25T03:07:20.470Z","lastUpdated":"2026-11-25T03:07:20.470Z","kind":"main"}""";

    // What a start-up writes after its header: the environment context as the only message, and the time.
    private static string StartUpMessages() =>
        """{"$set":{"messages":[{"id":"d04923d3","type":"user","content":[{"text":"<session_context>\nThis is the Gemini CLI."}]}],"lastUpdated":"2026-11-25T03:07:20.470Z"}}""";

    private static string Message(string type, string text) =>
        $$"""{"id":"{{Guid.NewGuid()}}","timestamp":"2026-11-25T03:07:20.515Z","type":"{{type}}","content":[{"text":"{{text}}"}]}""";
}
