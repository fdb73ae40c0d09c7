using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using PocketCoder.Display;
using Spectre.Console;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder watch SESSION</c>: one session, live in the terminal, as a device of the running server. The session's
/// event stream is rendered as it arrives (the reply as it streams, tool calls and their outcome, the plan, each turn's
/// end), and a call waiting for the owner is put as a prompt answered with one key. A dropped stream is picked up where
/// it left off (Last-Event-ID), so nothing is shown twice or missed.
/// </summary>
public static class WatchCommand
{
    private const int DefaultHistory = 200;
    private const int ResultLineLength = 160;
    private static readonly TimeSpan[] Backoff = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)];

    public static async Task<int> RunAsync(CliArguments arguments, TextWriter output, TextWriter error)
    {
        using var http = ServerClient.Create(arguments);
        http.Timeout = Timeout.InfiniteTimeSpan;
        if (await SessionCommands.ResolveAsync(http, arguments, error) is not { } sessionId
            || await ServerClient.GetJsonAsync(http, $"/api/sessions/{sessionId}", error) is not { } session
            || await ServerClient.GetJsonAsync(http, "/api/approvals?status=pending", error) is not { } pending)
        {
            return 1;
        }

        var history = arguments.Value("history") is { } given
            ? int.TryParse(given, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new CliException("--history takes a number of events.")
            : DefaultHistory;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Interactive = InteractionSupport.No,
        });
        var view = new SessionView(console, http, sessionId);
        view.Header(session);
        var lastSeq = session.GetProperty("lastSeq").GetInt64();
        // What waits now is shown once the history up to now has been: in its place when that history holds its request,
        // after it when the request is older than what is shown.
        var waiting = pending.EnumerateArray().Where(a => a.GetProperty("sessionId").GetString() == sessionId).Select(a => a.Clone()).ToList();

        using var quit = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            quit.Cancel();
        };
        if (!arguments.Flag("no-keys") && !Console.IsInputRedirected)
        {
            // Blocks in Console.ReadKey until a key or the end of the process: never awaited.
            _ = Task.Run(() => view.ReadKeysAsync(quit));
        }

        var cursor = Math.Max(0, lastSeq - history);
        var caughtUp = () =>
        {
            foreach (var approval in waiting)
            {
                view.Waiting(approval);
            }
        };
        try
        {
            return await FollowAsync(http, sessionId, cursor, lastSeq, caughtUp, view, error, quit.Token);
        }
        finally
        {
            console.WriteLine();
        }
    }

    /// <summary>Reads the stream until quit, reconnecting from the last event seen; 1 when the server refuses it.</summary>
    /// <param name="caughtUp">Runs once, when the events up to <paramref name="now"/> have been shown.</param>
    private static async Task<int> FollowAsync(HttpClient http, string sessionId, long cursor, long now, Action caughtUp, SessionView view,
        TextWriter error, CancellationToken cancellationToken)
    {
        var failures = 0;
        var behind = cursor < now;
        if (!behind)
        {
            caughtUp();
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/sessions/{sessionId}/events");
                request.Headers.Accept.ParseAdd("text/event-stream");
                request.Headers.Add("Last-Event-ID", cursor.ToString(CultureInfo.InvariantCulture));
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
                {
                    await error.WriteLineAsync($"pocketcoder: the server refused the session's stream ({(int)response.StatusCode}).");
                    return 1;
                }

                response.EnsureSuccessStatusCode();
                if (failures > 0)
                {
                    view.Note("reconnected");
                }

                failures = 0;
                await using var stream = new QuietLimit(await response.Content.ReadAsStreamAsync(cancellationToken), TimeSpan.FromSeconds(45));
                await foreach (var frame in SseParser.Create(stream).EnumerateAsync(cancellationToken))
                {
                    if (long.TryParse(frame.EventId, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                    {
                        cursor = id;
                    }

                    view.Render(frame.EventType, frame.Data);
                    if (behind && cursor >= now)
                    {
                        behind = false;
                        caughtUp();
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception) when (exception is HttpRequestException or IOException)
            {
                // The server restarted or the network dropped: try again, and carry on from the last event seen.
            }

            var wait = Backoff[Math.Min(failures++, Backoff.Length - 1)];
            view.Note($"stream lost; retrying in {wait.TotalSeconds:0} s");
            // Ctrl+C or q during the wait: the loop ends on its condition, as it does mid-stream.
            await Task.Delay(wait, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        return 0;
    }

    /// <summary>What the terminal shows of one session, and the approvals it may answer. Writes are serialised: keys and events both write.</summary>
    private sealed class SessionView(IAnsiConsole console, HttpClient http, string sessionId)
    {
        private readonly Lock _write = new();
        // Oldest first; the keys answer the first, whose panel is the last one shown.
        private readonly List<(string Id, string Title, string Tool, JsonElement Details)> _waiting = [];
        // The cursor is mid-line after streamed text; _streamed: the reply so far was shown as it streamed (its closing
        // message event then adds nothing).
        private bool _inLine;
        private bool _streamed;

        // Keys answer the approval on screen, only once it has been there a moment (a key typed before it appeared, or a
        // double tap, must not approve a call nobody read), and one decision at a time.
        private static readonly TimeSpan KeyGrace = TimeSpan.FromMilliseconds(600);
        private DateTimeOffset _askedAt;
        private int _deciding;

        public void Header(JsonElement session)
        {
            lock (_write)
            {
                console.MarkupLine($"[bold]{Markup.Escape(Str(session, "title") ?? "(untitled)")}[/]  " +
                                   $"[dim]{Markup.Escape(sessionId[..8])} · {Markup.Escape(Str(session, "agent") ?? "")} · {Markup.Escape(Str(session, "mode") ?? "")} · {Markup.Escape(Str(session, "status") ?? "")}[/]");
                console.MarkupLine("[dim]Keys: a allow once · s allow for the session · d deny · r deny with a reason · q quit[/]");
            }
        }

        public void Note(string text)
        {
            lock (_write)
            {
                Line($"[dim]({Markup.Escape(text)})[/]");
            }
        }

        /// <summary>An approval that already waited when watching began (its request event may be older than the history shown).</summary>
        public void Waiting(JsonElement approval)
        {
            lock (_write)
            {
                Ask(Str(approval, "id") ?? "", Str(approval, "tool") ?? "", Str(approval, "title") ?? "", approval);
            }
        }

        public void Render(string kind, string data)
        {
            JsonElement e;
            try
            {
                e = JsonElement.Parse(data);
            }
            catch (JsonException)
            {
                return;
            }

            lock (_write)
            {
                switch (kind)
                {
                    case "message.delta":
                        _inLine = _streamed = true;
                        console.Write(new Text(Str(e, "text") ?? ""));
                        break;
                    case "message":
                        EndStream();
                        if (!_streamed)
                        {
                            console.WriteLine(Str(e, "text") ?? "");
                        }

                        _streamed = false;
                        break;
                    case "message.user":
                        Line($"[bold cyan]›[/] {Markup.Escape(Str(e, "text") ?? "")}");
                        break;
                    case "thinking":
                        Line($"[dim italic]thinking: {Markup.Escape(FirstLine(Str(e, "text")))}[/]");
                        break;
                    case "tool.call":
                        Line($"[yellow]▸ {Markup.Escape(Str(e, "tool") ?? "")}[/] {Markup.Escape(Str(e, "title") ?? "")}");
                        break;
                    case "tool.result":
                        var failed = e.TryGetProperty("isError", out var isError) && isError.ValueKind == JsonValueKind.True;
                        Line($"  {(failed ? "[red]✗[/]" : "[green]✓[/]")} [dim]{Markup.Escape(FirstLine(Str(e, "content")))}[/]");
                        break;
                    case "plan" when e.TryGetProperty("entries", out var entries) && entries.ValueKind == JsonValueKind.Array:
                        EndStream();
                        foreach (var entry in entries.EnumerateArray())
                        {
                            var mark = Str(entry, "status") switch { "completed" => "[green]☑[/]", "in_progress" => "[yellow]◧[/]", _ => "☐" };
                            console.MarkupLine($"  {mark} {Markup.Escape(Str(entry, "content") ?? "")}");
                        }

                        break;
                    case "approval.requested":
                        EndStream();
                        Ask(Str(e, "approvalId") ?? "", Str(e, "tool") ?? "", Str(e, "title") ?? "", e);
                        break;
                    case "approval.resolved":
                        var id = Str(e, "approvalId");
                        var wasWaiting = _waiting.RemoveAll(w => w.Id == id) > 0;
                        var decision = (Str(e, "decision") ?? Str(e, "status") ?? "").Replace('_', ' ');
                        Line($"  [bold]{Markup.Escape(decision)}[/]{(Str(e, "decidedBy") is { } by ? $" [dim]by {Markup.Escape(by)}[/]" : "")}" +
                             (Str(e, "message") is { Length: > 0 } why ? $" [dim]— {Markup.Escape(why)}[/]" : ""));
                        if (wasWaiting && _waiting.Count > 0)
                        {
                            ShowFirst(afterAnother: true);
                        }

                        break;
                    case "turn.completed":
                        Line($"[dim]— turn ended ({Markup.Escape(Str(e, "stopReason") ?? "")})[/]");
                        break;
                    case "turn.changes" when e.TryGetProperty("filesChanged", out var files) && files.TryGetInt32(out var changed):
                        Line($"[dim]  {changed} file(s) changed: review them on the phone[/]");
                        break;
                    case "usage" when e.TryGetProperty("costUsd", out var cost) && cost.ValueKind == JsonValueKind.Number:
                        Line($"[dim]  ${cost.GetDecimal().ToString("0.0000", CultureInfo.InvariantCulture)} this turn[/]");
                        break;
                    case "session.error":
                        Line($"[red]! {Markup.Escape(Str(e, "message") ?? "")}[/]");
                        break;
                    case "session.status":
                        Line($"[dim]· {Markup.Escape(Str(e, "status") ?? "")}{(Str(e, "reason") is { } reason ? $": {Markup.Escape(reason)}" : "")}[/]");
                        break;
                    case "history.imported":
                        Line($"[dim]— the above was carried over from the {Markup.Escape(Str(e, "source") ?? "terminal")}[/]");
                        break;
                }
            }
        }

        /// <summary>Keys answer the oldest waiting approval; q ends watching. Runs until quit.</summary>
        public async Task ReadKeysAsync(CancellationTokenSource quit)
        {
            while (!quit.IsCancellationRequested)
            {
                ConsoleKeyInfo key;
                try
                {
                    key = Console.ReadKey(intercept: true);
                }
                catch (InvalidOperationException)
                {
                    return;
                }

                if (key.KeyChar is 'q' or 'Q')
                {
                    await quit.CancelAsync();
                    return;
                }

                string current;
                lock (_write)
                {
                    if (_waiting.Count == 0 || key.KeyChar is not ('a' or 's' or 'd' or 'r') || DateTimeOffset.UtcNow - _askedAt < KeyGrace
                        || (IsQuestion(_waiting[0].Details) && key.KeyChar is not 'd')
                        || Volatile.Read(ref _deciding) == 1)
                    {
                        continue;
                    }

                    current = _waiting[0].Id;
                }

                string? message = null;
                if (key.KeyChar == 'r')
                {
                    lock (_write)
                    {
                        console.Markup("[bold]Reason:[/] ");
                    }

                    message = Console.ReadLine();
                }

                var decision = key.KeyChar switch { 'a' => "allow_once", 's' => "allow_session", _ => "deny" };
                Volatile.Write(ref _deciding, 1);
                try
                {
                    await DecideAsync(current, decision, message);
                }
                finally
                {
                    Volatile.Write(ref _deciding, 0);
                }
            }
        }

        private async Task DecideAsync(string approvalId, string decision, string? message)
        {
            string? problem = null;
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                using var response = await http.PostAsJsonAsync($"/api/approvals/{Uri.EscapeDataString(approvalId)}/decision",
                    new DecisionBody(decision, message), CliJson.Default.DecisionBody, timeout.Token);
                if (response.StatusCode == HttpStatusCode.Conflict)
                {
                    problem = "already decided elsewhere";
                }
                else if (!response.IsSuccessStatusCode)
                {
                    problem = $"the server said {(int)response.StatusCode}";
                }
            }
            catch (HttpRequestException exception)
            {
                problem = exception.Message;
            }
            catch (OperationCanceledException)
            {
                problem = "the server did not answer within 30 s";
            }

            // The decision itself shows when its approval.resolved event arrives, whoever made it.
            if (problem is not null)
            {
                Note($"not decided: {problem}");
            }
        }

        private void Ask(string approvalId, string tool, string title, JsonElement details)
        {
            if (_waiting.Any(w => w.Id == approvalId))
            {
                return;
            }

            _waiting.Add((approvalId, title, tool, details.Clone()));
            if (_waiting.Count == 1)
            {
                ShowFirst(afterAnother: false);
            }
            else
            {
                console.MarkupLine($"[yellow]Also waiting:[/] {Markup.Escape(title)} [dim](shown when the one above is decided)[/]");
            }
        }

        /// <summary>A question is answered (pocketcoder answer, the phone), never allowed: here it can only be dismissed.</summary>
        private static bool IsQuestion(JsonElement details) => Str(details, "kind") == "question";

        /// <summary>The approval the keys answer, in full.</summary>
        /// <param name="afterAnother">It takes the place of one just decided: keys count only a moment later (<see cref="KeyGrace"/>),
        /// so a key meant for that one (a double tap) does not answer this. A first one needs no grace: with nothing waiting,
        /// a key typed before it appeared was read and ignored.</param>
        private void ShowFirst(bool afterAnother)
        {
            var (id, title, tool, details) = _waiting[0];
            _askedAt = afterAnother ? DateTimeOffset.UtcNow : DateTimeOffset.MinValue;
            if (IsQuestion(details))
            {
                var questions = details.TryGetProperty("input", out var asked) ? QuestionCommand.Read(asked) : [];
                console.Write(new Panel(new Text(questions.Count == 0 ? title : QuestionCommand.ShowAll(questions).TrimEnd()))
                {
                    Header = new PanelHeader("[bold yellow] The agent asks [/]"),
                    Border = BoxBorder.Rounded,
                });
                console.MarkupLine($"answer it with [bold]pocketcoder answer {Markup.Escape(id)}[/] or on the phone · [bold]d[/] dismiss");
                return;
            }

            var body = new StringBuilder(Markup.Escape(title));
            // What will run exactly, not only the agent's description of it.
            if (details.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.Object)
            {
                if (Str(input, "command") is { Length: > 0 } command && command != title)
                {
                    body.Append("\n[bold]$[/] ").Append(Markup.Escape(command));
                }
                else if ((Str(input, "file_path") ?? Str(input, "path")) is { Length: > 0 } path && !title.Contains(path, StringComparison.Ordinal))
                {
                    body.Append("\n[dim]").Append(Markup.Escape(path)).Append("[/]");
                }
            }

            if (Str(details, "plan") is { Length: > 0 } plan)
            {
                body.Append("\n\n").Append(Markup.Escape(plan));
            }

            console.Write(new Panel(new Markup(body.ToString()))
            {
                Header = new PanelHeader($"[bold yellow] {Markup.Escape(tool)} wants to run [/]"),
                Border = BoxBorder.Rounded,
            });
            console.MarkupLine("[bold]a[/] allow once · [bold]s[/] for this session · [bold]d[/] deny · [bold]r[/] deny with a reason");
        }

        /// <summary>A line of its own, after the streamed reply's line if one is open.</summary>
        private void Line(string markup)
        {
            EndStream();
            console.MarkupLine(markup);
        }

        private void EndStream()
        {
            if (_inLine)
            {
                console.WriteLine();
                _inLine = false;
            }
        }

        /// <summary>A string of the server's, safe to print: see <see cref="TerminalText.Clean"/>.</summary>
        private static string? Str(JsonElement element, string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
                ? TerminalText.Clean(value.GetString())
                : null;

        private static string FirstLine(string? text)
        {
            var line = (text ?? "").Trim().Split('\n')[0].TrimEnd('\r');
            return line.Length > ResultLineLength ? line[..ResultLineLength] + "…" : line;
        }
    }
}

/// <summary>
/// A response body that fails a read the server leaves unanswered for longer than the silence allowed: it comments every
/// 15 s, so a longer silence is a connection that dropped without saying so.
/// </summary>
internal sealed class QuietLimit(Stream inner, TimeSpan silence) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <exception cref="IOException">The stream fell silent for longer than the silence allowed.</exception>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        quiet.CancelAfter(silence);
        try
        {
            return await inner.ReadAsync(buffer, quiet.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"The event stream said nothing for {silence.TotalSeconds:0} s.");
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Flush()
    {
    }

    public override ValueTask DisposeAsync() => inner.DisposeAsync();
}
