using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Agents.Claude;
using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>Reading Claude Code's transcripts for a project: only that project's, only plain files, the newest entries, never stuck.</summary>
[Trait("Category", "Unit")]
public sealed class ClaudeTranscriptsTests : IDisposable
{
    private readonly string _config = TempPaths.NewDirectory("pc-claude-config");
    private readonly ClaudeCodeAdapter _claude;

    public ClaudeTranscriptsTests() =>
        _claude = new ClaudeCodeAdapter(new AgentCommand("claude", new Dictionary<string, string?> { ["CLAUDE_CONFIG_DIR"] = _config }));

    public void Dispose() => TempPaths.Delete(_config);

    [Fact]
    public async Task TwoProjectsSharingAFolderName_EachSeesOnlyItsOwn()
    {
        // "/a/b-c" and "/a/b/c" are both "-a-b-c" to Claude: the cwd its lines record tells them apart.
        Write("/a/b-c", Guid.NewGuid().ToString(), Prompt("/a/b-c", "dash"));
        Write("/a/b/c", Guid.NewGuid().ToString(), Prompt("/a/b/c", "slash"));
        Assert.Equal(["dash"], (await _claude.ListConversationsAsync("/a/b-c", default)).Select(c => c.Title));
        Assert.Equal(["slash"], (await _claude.ListConversationsAsync("/a/b/c", default)).Select(c => c.Title));
    }

    [Fact]
    public async Task LongTranscript_KeepsTheNewestEntries_AndCountsTheRest()
    {
        var id = Guid.NewGuid().ToString();
        Write("/p", id, [.. Enumerable.Range(1, ConversationLimit + 5).Select(i => Line("/p", "user", $"prompt {i}"))]);
        var history = (await _claude.ReadConversationAsync("/p", id, default))!;
        Assert.Equal(ConversationLimit, history.Entries.Count);
        Assert.Equal(5, history.Skipped);
        Assert.Equal($"prompt {ConversationLimit + 5}", ((HistoryUserText)history.Entries[^1]).Text);
    }

    [Fact]
    public async Task NotARegularFile_OrNotACanonicalId_NeverListedNorRead_AndNothingBlocks()
    {
        var folder = Folder("/p");
        var fifo = Guid.NewGuid().ToString();
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", Path.Combine(folder, fifo + ".jsonl"))!)
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var outside = Path.Combine(_config, "secret.jsonl");
        File.WriteAllLines(outside, Prompt("/p", "outside"));
        var link = Guid.NewGuid().ToString();
        File.CreateSymbolicLink(Path.Combine(folder, link + ".jsonl"), outside);
        var upper = Guid.NewGuid().ToString().ToUpperInvariant();
        File.WriteAllLines(Path.Combine(folder, upper + ".jsonl"), Prompt("/p", "upper"));

        Assert.Empty((await _claude.ListConversationsAsync("/p", default)));
        Assert.Null((await _claude.ReadConversationAsync("/p", fifo, default)));
        Assert.Null((await _claude.ReadConversationAsync("/p", link, default)));
        Assert.Null((await _claude.ReadConversationAsync("/p", upper, default)));
        Assert.Null((await _claude.ReadConversationAsync("/p", "../secret", default)));
    }

    [Fact]
    public async Task Entries_UserTextToolCallsResults_SidechainAndMetaLeftOut()
    {
        var id = Guid.NewGuid().ToString();
        Write("/p", id,
        [
            Line("/p", "user", "hello"),
            JsonSerializer.Serialize(new { type = "assistant", cwd = "/p", message = new { content = new object[]
            {
                new { type = "text", text = "running it" },
                new { type = "tool_use", id = "t1", name = "Bash", input = new { command = "ls -la" } },
            } } }),
            JsonSerializer.Serialize(new { type = "user", cwd = "/p", message = new { content = new object[] { new { type = "tool_result", tool_use_id = "t1", content = "a b", is_error = true } } } }),
            JsonSerializer.Serialize(new { type = "user", cwd = "/p", isSidechain = true, message = new { content = "side" } }),
            JsonSerializer.Serialize(new { type = "user", cwd = "/p", isMeta = true, message = new { content = "meta" } }),
            "not json",
        ]);
        var entries = (await _claude.ReadConversationAsync("/p", id, default))!.Entries;
        Assert.Equal(4, entries.Count);
        Assert.Equal("hello", Assert.IsType<HistoryUserText>(entries[0]).Text);
        Assert.Equal("running it", Assert.IsType<HistoryAssistantText>(entries[1]).Text);
        var call = Assert.IsType<HistoryToolCall>(entries[2]);
        Assert.Equal((ToolKind.Execute, "ls -la"), (call.Kind, call.Title));
        Assert.True(Assert.IsType<HistoryToolResult>(entries[3]).IsError);
    }

    private const int ConversationLimit = 1000;

    private string Folder(string project)
    {
        var folder = Path.Combine(_config, "projects", new string([.. project.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]));
        Directory.CreateDirectory(folder);
        return folder;
    }

    private void Write(string project, string id, IEnumerable<string> lines) => File.WriteAllLines(Path.Combine(Folder(project), id + ".jsonl"), lines);

    private static string[] Prompt(string cwd, string text) => [Line(cwd, "user", text)];

    private static string Line(string cwd, string type, string text) => JsonSerializer.Serialize(new { type, cwd, message = new { role = type, content = text } });
}
