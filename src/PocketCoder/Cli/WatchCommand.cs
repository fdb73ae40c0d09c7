using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using PocketCoder.Approvals;
using PocketCoder.Display;
using PocketCoder.Realtime;
using PocketCoder.Server;
using PocketCoder.Sessions;
using Spectre.Console;
using static PocketCoder.Display.TerminalText;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder watch SESSION</c>: one session, live in the terminal, as a device of the running server. The session's
/// event stream is rendered as it arrives (the reply as it streams, tool calls and their outcome, the plan, each turn's
/// end), and a call waiting for the owner is put as a prompt answered with one key. A dropped stream is picked up where
/// it left off (Last-Event-ID), so nothing is shown twice or missed.
/// </summary>
internal sealed class WatchCommand : SessionVerb
{
    private const int DefaultHistory = 200;
    private const int ResultLineLength = 160;
    private static readonly TimeSpan[] Backoff = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)];

    private readonly Option<string> _history = new("--history") { Description = "How many earlier events to show first (default 200)." };
    private readonly Option<bool> _noKeys = new("--no-keys") { Description = "Only watch; do not answer approvals from this terminal." };

    public WatchCommand() : base("watch", "Follow a session live: its reply as it streams, tool calls, and each waiting call as a prompt answered with a key.") =>
        Declare(_history, _noKeys);

    protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
    {
        using var http = Connect(parsed);
        http.Timeout = Timeout.InfiniteTimeSpan;
        if (await ResolveAsync(parsed, http, error) is not { } sessionId
            || await ServerClient.GetAsync(http, $"/api/sessions/{sessionId}", WireJson.Default.SessionResponse, error) is not { } session
            || await ServerClient.GetAsync(http, "/api/approvals?status=pending", WireJson.Default.IEnumerableApprovalResponse, error) is not { } pending)
        {
            return 1;
        }

        var history = parsed.GetValue(_history) is { } given
            ? int.TryParse(given, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new CliException("--history takes a number of events.")
            : DefaultHistory;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Interactive = InteractionSupport.No,
        });
        var view = new SessionView(console, http, sessionId);
        view.Header(session);
        // What waits now is shown once the history up to now has been: in its place when that history holds its request,
        // after it when the request is older than what is shown.
        var waiting = pending.Where(a => a.SessionId == sessionId)
            .Select(a => new WaitingCall(a.Id, a.Tool, a.Title, ApprovalKind.TryFromWire(a.Kind) is ApprovalKind.Question, a.Input, a.Plan)).ToList();

        using var quit = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            quit.Cancel();
        };
        if (!parsed.GetValue(_noKeys) && !Console.IsInputRedirected)
        {
            // Blocks in Console.ReadKey until a key or the end of the process: never awaited.
            _ = Task.Run(() => view.ReadKeysAsync(quit));
        }

        try
        {
            return await FollowAsync(http, sessionId, Math.Max(0, session.LastSeq - history), session.LastSeq, () => waiting.ForEach(view.Waiting), view, error, quit.Token);
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

    /// <summary>Every kind of event, read as the server's own record of it; <see cref="SessionView.Render"/> picks what it shows.</summary>
    private static readonly Dictionary<string, JsonTypeInfo> Records =
        SessionEventCatalogue.All.ToDictionary(e => e.Kind, e => SessionEventJson.Default.GetTypeInfo(e.Type)!);

    /// <summary>A call waiting for the owner, from the pending list or its approval.requested event: what the keys answer.</summary>
    /// <param name="IsQuestion">A question is answered (pocketcoder answer, the phone), never allowed: here it can only be dismissed.</param>
    private sealed record WaitingCall(string Id, string Tool, string Title, bool IsQuestion, JsonElement Input, string? Plan);

    /// <summary>What the terminal shows of one session, and the approvals it may answer. Writes are serialised: keys and events both write.</summary>
    private sealed class SessionView(IAnsiConsole console, HttpClient http, string sessionId)
    {
        private readonly Lock _write = new();
        // Oldest first; the keys answer the first, whose panel is the last one shown.
        private readonly List<WaitingCall> _waiting = [];
        // The cursor is mid-line after streamed text; _streamed: the reply so far was shown as it streamed (its closing
        // message event then adds nothing).
        private bool _inLine;
        private bool _streamed;

        // Keys answer the approval on screen, only once it has been there a moment (a key typed before it appeared, or a
        // double tap, must not approve a call nobody read), and one decision at a time (the next key is read once it is made).
        private static readonly TimeSpan KeyGrace = TimeSpan.FromMilliseconds(600);
        private DateTimeOffset _askedAt;

        public void Header(SessionResponse session)
        {
            lock (_write)
            {
                console.MarkupLine($"[bold]{Markup.Escape(Clean(session.Title) ?? "(untitled)")}[/]  " +
                                   $"[dim]{Markup.Escape(sessionId[..8])} · {Escape(session.Agent)} · {Escape(session.Mode)} · {Escape(session.Status)}[/]");
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
        public void Waiting(WaitingCall approval)
        {
            lock (_write)
            {
                Ask(approval);
            }
        }

        public void Render(string kind, string data)
        {
            ISessionEvent? e;
            try
            {
                e = Records.TryGetValue(kind, out var type) ? JsonSerializer.Deserialize(data, type) as ISessionEvent : null;
            }
            catch (JsonException)
            {
                return;
            }

            // Most events are a line of their own; the reply, the plan and approvals are shown as they are below.
            var line = e switch
            {
                UserMessageEvent sent => $"[bold cyan]›[/] {Escape(sent.Text)}",
                ThinkingEvent thinking => $"[dim italic]thinking: {Markup.Escape(FirstLine(Clean(thinking.Text)))}[/]",
                ToolCallEvent call => $"[yellow]▸ {Escape(call.Tool)}[/] {Escape(call.Title)}",
                // A terminal cannot change a line already written: what the call turned out to be goes under it.
                ToolCallUpdatedEvent { InputMissing: true } => "[dim]  (the agent never said what this call's input was)[/]",
                ToolCallUpdatedEvent updated => $"[yellow]  ↳[/] {Escape(updated.Title)}",
                ToolResultEvent result => $"  {(result.IsError ? "[red]✗[/]" : "[green]✓[/]")} [dim]{Markup.Escape(FirstLine(Clean(result.Content)))}[/]",
                TurnCompletedEvent turn => $"[dim]— turn ended ({Escape(turn.StopReason)})[/]",
                TurnChangesEvent changes => $"[dim]  {changes.FilesChanged} file(s) changed: review them on the phone[/]",
                UsageEvent { CostUsd: { } cost } => $"[dim]  ${cost.ToString("0.0000", CultureInfo.InvariantCulture)} this turn[/]",
                ErrorEvent failure => $"[red]! {Escape(failure.Message)}[/]",
                SessionStatusEvent status => $"[dim]· {Escape(status.Status)}{(Clean(status.Reason) is { } reason ? $": {Markup.Escape(reason)}" : "")}[/]",
                HistoryImportedEvent imported => $"[dim]— the above was carried over from the {Markup.Escape(Clean(imported.Source) ?? "terminal")}[/]",
                _ => null,
            };
            lock (_write)
            {
                switch (e)
                {
                    case not null when line is not null:
                        Line(line);
                        break;
                    case MessageDeltaEvent delta:
                        _inLine = _streamed = true;
                        console.Write(new Text(Clean(delta.Text) ?? ""));
                        break;
                    case MessageEvent message:
                        EndStream();
                        if (!_streamed)
                        {
                            console.WriteLine(Clean(message.Text) ?? "");
                        }

                        _streamed = false;
                        break;
                    case PlanEvent { Entries: { } entries }:
                        EndStream();
                        foreach (var entry in entries)
                        {
                            var mark = entry?.Status switch { "completed" => "[green]☑[/]", "in_progress" => "[yellow]◧[/]", _ => "☐" };
                            console.MarkupLine($"  {mark} {Escape(entry?.Content)}");
                        }

                        break;
                    case ApprovalRequestedEvent asked:
                        EndStream();
                        Ask(new WaitingCall(asked.ApprovalId, asked.Tool, asked.Title, asked.ToolKind == "question", asked.Input, asked.Plan));
                        break;
                    case ApprovalResolvedEvent resolved:
                        var wasWaiting = _waiting.RemoveAll(w => w.Id == resolved.ApprovalId) > 0;
                        Line($"  [bold]{Escape((resolved.Decision ?? resolved.Status)?.Replace('_', ' '))}[/]" +
                             (Clean(resolved.DecidedBy) is { } by ? $" [dim]by {Markup.Escape(by)}[/]" : "") +
                             (Clean(resolved.Message) is { Length: > 0 } why ? $" [dim]— {Markup.Escape(why)}[/]" : ""));
                        if (wasWaiting && _waiting.Count > 0)
                        {
                            ShowFirst(afterAnother: true);
                        }

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
                        || (_waiting[0].IsQuestion && key.KeyChar is not 'd'))
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

                await DecideAsync(current, key.KeyChar switch { 'a' => "allow_once", 's' => "allow_session", _ => "deny" }, message);
            }
        }

        private async Task DecideAsync(string approvalId, string decision, string? message)
        {
            string? problem = null;
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                using var response = await http.PostAsJsonAsync($"/api/approvals/{Uri.EscapeDataString(approvalId)}/decision",
                    new DecisionRequest(decision, message, null), WireJson.Default.DecisionRequest, timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    // One of two people's allows settles nothing yet: said here, as no resolved event will say it.
                    if (await response.Content.ReadFromJsonAsync(WireJson.Default.DecisionResponse, timeout.Token) is { } vote && vote.Status == ApprovalStatus.Pending.ToWire())
                    {
                        Note(DecisionCommand.Said(vote, approvalId));
                    }
                }
                else
                {
                    problem = await ServerClient.ProblemDetailAsync(response) ?? $"the server said {(int)response.StatusCode}";
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

        private void Ask(WaitingCall approval)
        {
            if (_waiting.Any(w => w.Id == approval.Id))
            {
                return;
            }

            _waiting.Add(approval);
            if (_waiting.Count == 1)
            {
                ShowFirst(afterAnother: false);
            }
            else
            {
                console.MarkupLine($"[yellow]Also waiting:[/] {Escape(approval.Title)} [dim](shown when the one above is decided)[/]");
            }
        }

        /// <summary>The approval the keys answer, in full.</summary>
        /// <param name="afterAnother">It takes the place of one just decided: keys count only a moment later (<see cref="KeyGrace"/>),
        /// so a key meant for that one (a double tap) does not answer this. A first one needs no grace: with nothing waiting,
        /// a key typed before it appeared was read and ignored.</param>
        private void ShowFirst(bool afterAnother)
        {
            var (id, tool, title, isQuestion, input, plan) = _waiting[0];
            (tool, title) = (Clean(tool) ?? "", Clean(title) ?? "");
            _askedAt = afterAnother ? DateTimeOffset.UtcNow : DateTimeOffset.MinValue;
            if (isQuestion)
            {
                var questions = QuestionCommand.Read(input);
                console.Write(new Panel(new Text(questions.Count == 0 ? title : QuestionCommand.ShowAll(questions).TrimEnd()))
                {
                    Header = new PanelHeader("[bold yellow] The agent asks [/]"),
                    Border = BoxBorder.Rounded,
                });
                console.MarkupLine($"answer it with [bold]{Markup.Escape(SelfCommand.For("answer"))} {Markup.Escape(id)}[/] or on the phone · [bold]d[/] dismiss");
                return;
            }

            var body = new StringBuilder(Markup.Escape(title));
            // What will run exactly, not only the agent's description of it.
            if (input.ValueKind == JsonValueKind.Object)
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

            if (Clean(plan) is { Length: > 0 } shown)
            {
                body.Append("\n\n").Append(Markup.Escape(shown));
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

        /// <summary>A string of the server's (or the agent's, through it), made safe to print (<see cref="TerminalText.Clean"/>) and escaped for Spectre's markup.</summary>
        private static string Escape(string? text) => Markup.Escape(Clean(text) ?? "");

        /// <summary>A string in the tool's input (the agent's own JSON), safe to print.</summary>
        private static string? Str(JsonElement element, string name) => Clean(StringIn(element, name));

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
