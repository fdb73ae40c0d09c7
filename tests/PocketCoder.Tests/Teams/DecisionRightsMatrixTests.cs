using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Cli;
using PocketCoder.Tests.Bridges;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Teams;

namespace PocketCoder.Tests.Teams;

/// <summary>
/// Every role, every act the table knows, at every door that offers it: the app's API (and its batch of decisions, the
/// inbox's), a chat bridge (Telegram), a notification's action and the owner's terminal. Each answer must be the table's (<see cref="DecisionRights"/>): allowed
/// where it says yes, refused (with its code, where the door has codes) where it says no. A fake agent keeps it fast; the
/// agents' own protocols are tested with the real CLIs elsewhere. All mismatches are listed at once.
/// </summary>
public sealed class DecisionRightsMatrixTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly Role[] Everyone = [Role.Viewer, Role.Operator, Role.Approver, Role.Owner];

    [Fact]
    public async Task EveryRole_EveryAct_EveryDoor_GetsTheTablesAnswer()
    {
        await using var matrix = await MatrixWorld.StartAsync();
        var results = new List<string>();
        foreach (var role in Everyone)
        {
            results.AddRange(await CheckAsync(role, matrix.Checks().Where(c => c.Door != MatrixWorld.Chat)));
        }

        // Each person's chat is a direct one of their own, bound to a project of its own: the four run side by side (a
        // chat gets a bot message a second at most, so one after the other they would take minutes).
        foreach (var lines in await Task.WhenAll(Everyone.Select(role => CheckAsync(role, matrix.Checks().Where(c => c.Door == MatrixWorld.Chat)))))
        {
            results.AddRange(lines);
        }

        foreach (var line in results)
        {
            output.WriteLine(line);
        }

        var mismatches = results.Where(line => line.StartsWith("MISMATCH", StringComparison.Ordinal)).ToList();
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    private static async Task<List<string>> CheckAsync(Role role,
        IEnumerable<(string Name, Func<TeamPolicy, Act> Act, string Door, Func<Role, Task<DoorAnswer>> Run)> checks)
    {
        var lines = new List<string>();
        foreach (var (name, act, door, run) in checks)
        {
            var expected = DecisionRights.Check(new Decider("p", role.ToWire(), role, Active: true), act(TeamPolicy.Default), TeamPolicy.Default);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var got = await run(role);
            if (ReferenceEquals(got, DoorAnswer.NotOffered))
            {
                continue;
            }

            var same = got.Allowed == expected.Allowed && (got.Code is null || expected.Allowed || got.Code == expected.Code);
            lines.Add($"{(same ? "ok" : "MISMATCH")} {role.ToWire()} · {name} · {door}: the table says {(expected.Allowed ? "yes" : expected.Code)}, "
                + $"the door said {(got.Allowed ? "yes" : got.Code ?? "no")} in {clock.ElapsedMilliseconds} ms ({got.Said})");
        }

        return lines;
    }
}

/// <summary>What a door answered: allowed or not, its code where it has codes, and its words.</summary>
internal sealed record DoorAnswer(bool Allowed, string? Code, string Said)
{
    /// <summary>The door is not there for this person at all (the owner's terminal, for anyone else).</summary>
    public static readonly DoorAnswer NotOffered = new(false, null, "not offered");

    public static async Task<DoorAnswer> Of(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (response.IsSuccessStatusCode)
        {
            return new DoorAnswer(true, null, ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var problem = JsonElement.Parse(text);
        return new DoorAnswer(false, problem.GetProperty("code").GetString(), problem.GetProperty("detail").GetString() ?? "");
    }
}

/// <summary>
/// One server with a fake agent and a Telegram group bound to its project, and one person of each role with a phone and a
/// chat identity (the owner's terminal is the owner's too). Each check arranges a subject of its own (a fresh approval,
/// a session in the mode it needs) so that an allowed act never changes what the next one sees.
/// </summary>
internal sealed class MatrixWorld : IAsyncDisposable
{
    public const string Chat = "chat";
    private readonly Dictionary<Role, (PairedClient Phone, long ChatUser)> _people = [];
    private AgentWorld _world = null!;

    /// <summary>
    /// Where the API's checks work: a project no chat is bound to, so its many approvals are not posted to the group (a group
    /// gets one bot message every 3 s, and each would hold up the chat's own checks).
    /// </summary>
    private string _project = null!;

    /// <summary>Each person's direct chat is bound to a project of its own (its approvals are posted there alone).</summary>
    private readonly Dictionary<Role, string> _rooms = [];
    private FakeTelegram _telegram = null!;
    private int _made;

    public static async Task<MatrixWorld> StartAsync()
    {
        var matrix = new MatrixWorld();
        var fake = new FakeAgent { Script = Script };
        matrix._telegram = await FakeTelegram.StartAsync();
        matrix._world = await AgentWorld.StartAsync(FakeAgent.AgentId, (_, _) => new Dictionary<string, PocketCoder.Agents.Processes.AgentCommand>(),
            prepareData: (data, _, _) => matrix._telegram.Configure(data), fake: fake);
        await matrix.MeetEveryoneAsync();
        // Every check leaves its session waiting on a decision (a fake agent does not pause): more than the machine's
        // default limit on running agents, which would put the later ones in line. The limit is not what is checked here.
        await ApiAssert.OkJsonAsync(await matrix._world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = 1000 }));
        matrix._project = (await matrix._world.Http.PostOkAsync("/api/projects", new { path = TempPaths.NewGitRepository(), name = "quiet" }))
            .GetProperty("id").GetString()!;
        return matrix;
    }

    /// <summary>"run: X" asks to run X; "ask: Q" asks a question; anything else is answered.</summary>
    private static async Task Script(FakeAgentSession session, AgentPrompt prompt)
    {
        if (prompt.Text.StartsWith("run: ", StringComparison.Ordinal))
        {
            await session.AskToRunAsync(prompt.Text[5..]);
        }
        else if (prompt.Text.StartsWith("ask: ", StringComparison.Ordinal))
        {
            var input = JsonSerializer.SerializeToElement(new { questions = new[] { new { question = prompt.Text[5..], header = "Q", multiSelect = false,
                options = new[] { new { label = "Yes", description = "yes" }, new { label = "No", description = "no" } } } } });
            await session.Sink!.RequestPermissionAsync(new PermissionRequest("q-" + Guid.NewGuid().ToString("N"), "AskUserQuestion", ToolKind.Question,
                prompt.Text[5..], input, null, null, null), CancellationToken.None);
        }
        else
        {
            await session.SayAsync("ok");
        }

        await session.EndTurnAsync();
    }

    private async Task MeetEveryoneAsync()
    {
        var devices = _world.Server.Services.GetRequiredService<Devices>();
        var people = _world.Server.Services.GetRequiredService<People>();
        long user = 700;
        foreach (var role in new[] { Role.Viewer, Role.Operator, Role.Approver, Role.Owner })
        {
            PairedClient phone;
            string code;
            if (role == Role.Owner)
            {
                phone = _world.Phone;
                code = devices.CreatePairingCode().Code;
            }
            else
            {
                var person = people.Add(role.ToWire(), role, Actor.System);
                phone = await _world.Server.PairDeviceOfAsync(person.Id, $"{role.ToWire()}'s phone");
                code = devices.CreatePairingCode(person.Id).Code;
            }

            _telegram.Write(++user, user, "u" + user, $"/pair {code}");
            await _telegram.MessageAsync(user, "Linked");
            _people[role] = (phone, user);
            _rooms[role] = (await _world.Http.PostOkAsync("/api/projects", new { path = TempPaths.NewGitRepository(), name = $"room-{role.ToWire()}" }))
                .GetProperty("id").GetString()!;
            await _world.Http.PostOkAsync("/api/bridges/telegram/channels", new { chatId = user.ToString(System.Globalization.CultureInfo.InvariantCulture), projectId = _rooms[role] });
            await _telegram.MessageAsync(user, "now steers");
        }
    }

    private HttpClient Http(Role role) => _people[role].Phone.Http;

    private void Say(Role role, string text) => _telegram.Write(_people[role].ChatUser, _people[role].ChatUser, "u" + _people[role].ChatUser, text);

    private string ChatOf(Role role) => _people[role].ChatUser.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Each act at each door that offers it: its name, the table's act, the door, and how a person of a role does it there.</summary>
    public IEnumerable<(string Name, Func<TeamPolicy, Act> Act, string Door, Func<Role, Task<DoorAnswer>> Run)> Checks()
    {
        Func<TeamPolicy, Act> Fixed(Act act) => _ => act;
        DecideCall Shell(string decision) => new(RiskClasses.Shell, Role.Approver, 1, false, decision);
        yield return ("read", Fixed(new UseRoute(Access.Read)), "api", async role => await DoorAnswer.Of(await Http(role).GetAsync("/api/sessions")));
        foreach (var mode in new[] { SessionModes.Ask, SessionModes.AcceptEdits, SessionModes.Trusted })
        {
            yield return ($"start in {mode}", Fixed(new ChooseMode(mode)), "api", role => StartAsync(role, mode));
        }

        yield return ("start in ask", Fixed(new ChooseMode(SessionModes.Ask)), Chat, role => ChatStartAsync(role));
        yield return ("switch to trusted", Fixed(new ChooseMode(SessionModes.Trusted)), Chat, role => ChatModeAsync(role));
        yield return ("steer ask", Fixed(new Steer(SessionModes.Ask, [])), "api", role => SteerAsync(role, SessionModes.Ask, grant: false));
        yield return ("steer trusted", Fixed(new Steer(SessionModes.Trusted, [])), "api", role => SteerAsync(role, SessionModes.Trusted, grant: false));
        yield return ("steer granted", Fixed(new Steer(SessionModes.Ask, [RiskClasses.Shell])), "api", role => SteerAsync(role, SessionModes.Ask, grant: true));
        yield return ("steer ask", Fixed(new Steer(SessionModes.Ask, [])), Chat, role => ChatSteerAsync(role, trusted: false));
        yield return ("steer trusted", Fixed(new Steer(SessionModes.Trusted, [])), Chat, role => ChatSteerAsync(role, trusted: true));
        yield return ("steer ask", Fixed(new Steer(SessionModes.Ask, [])), "cli", role => CliSendAsync(role));
        yield return ("cancel", Fixed(new UseRoute(Access.Steer)), "api", role => CancelAsync(role));
        foreach (var decision in new[] { Decisions.AllowOnce, Decisions.AllowSession, Decisions.AllowAlways, Decisions.Deny })
        {
            yield return ($"decide shell {decision}", Fixed(Shell(decision)), "api", role => DecideAsync(role, decision, "run: make it"));
        }

        foreach (var decision in new[] { Decisions.AllowOnce, Decisions.Deny })
        {
            yield return ($"decide shell {decision}", Fixed(Shell(decision)), "batch", role => DecideTogetherAsync(role, decision));
        }

        foreach (var decision in new[] { Decisions.AllowOnce, Decisions.AllowSession, Decisions.Deny })
        {
            yield return ($"decide shell {decision}", Fixed(Shell(decision)), Chat, role => PressAsync(role, decision));
        }

        foreach (var decision in new[] { Decisions.AllowOnce, Decisions.Deny })
        {
            yield return ($"decide shell {decision}", Fixed(Shell(decision)), "notification", role => NotificationAsync(role, decision));
            yield return ($"decide shell {decision}", Fixed(Shell(decision)), "cli", role => CliDecideAsync(role, decision));
        }

        yield return ("allow protected", Fixed(new DecideCall(RiskClasses.Protected, Role.Approver, 1, false, Decisions.AllowOnce)), "api",
            role => DecideAsync(role, Decisions.AllowOnce, "run: git config core.pager cat"));
        yield return ("answer a question", Fixed(new DecideCall(RiskClasses.Question, Role.Approver, 1, false, DecideCall.Answer)), "api", role => AnswerAsync(role));
        yield return ("write a file", Fixed(new WriteFile(false)), "api", role => WriteAsync(role, $"notes-{role.ToWire()}.txt"));
        yield return ("write protected", Fixed(new WriteFile(true)), "api", role => WriteAsync(role, ".mcp.json"));
        yield return ("shell of one's own", Fixed(new UseRoute(Access.Shell)), "api", async role =>
            await DoorAnswer.Of(await Http(role).PostAsJsonAsync($"/api/projects/{_project}/commands", new { command = "true" })));
        yield return ("manage rules", Fixed(new Manage("x")), "api", async role => await DoorAnswer.Of(await Http(role).PostAsJsonAsync(
            $"/api/projects/{_project}/rules", new { tool = "Bash", pattern = $"echo {role.ToWire()} *", action = "ask" })));
        yield return ("manage a chat", Fixed(new Manage("x")), Chat, role => ChatAsync(role, $"/bind room-{role.ToWire()}", Replied("now steers room")));
    }

    // ---- The API ----

    private async Task<DoorAnswer> StartAsync(Role role, string mode) => await DoorAnswer.Of(await Http(role).PostAsJsonAsync(
        $"/api/projects/{_project}/sessions", new { agent = FakeAgent.AgentId, mode }));

    /// <summary>A new session of the owner's in <paramref name="mode"/> (with Bash allowed for it, when <paramref name="grant"/>).</summary>
    private async Task<string> OwnersSessionAsync(string mode, bool grant)
    {
        var session = (await _world.Http.PostOkAsync($"/api/projects/{_project}/sessions",
            new { agent = FakeAgent.AgentId, mode, prompt = grant ? "run: echo granted" : "hello" })).GetProperty("id").GetString()!;
        if (grant)
        {
            var asked = await PendingInAsync(session);
            await ApiAssert.OkJsonAsync(await _world.DecideAsync(asked, Decisions.AllowSession));
        }

        await WaitIdleAsync(session);
        return session;
    }

    private async Task<DoorAnswer> SteerAsync(Role role, string mode, bool grant)
    {
        var session = await OwnersSessionAsync(mode, grant);
        return await DoorAnswer.Of(await Http(role).PostAsJsonAsync($"/api/sessions/{session}/messages", new { text = "carry on" }));
    }

    private async Task<DoorAnswer> CancelAsync(Role role) =>
        await DoorAnswer.Of(await Http(role).PostAsync($"/api/sessions/{await OwnersSessionAsync(SessionModes.Ask, grant: false)}/cancel", null));

    /// <summary>A fresh pending approval: the owner's new session asks what <paramref name="prompt"/> says.</summary>
    private async Task<string> NewApprovalAsync(string prompt, string? projectId = null)
    {
        // Each call its own command: an allow-always earlier made a rule for that exact command.
        prompt = prompt.StartsWith("run: ", StringComparison.Ordinal) ? $"{prompt} {Interlocked.Increment(ref _made)}" : prompt;
        var session = (await _world.Http.PostOkAsync($"/api/projects/{projectId ?? _project}/sessions", new { agent = FakeAgent.AgentId, prompt }))
            .GetProperty("id").GetString()!;
        return await PendingInAsync(session);
    }

    private async Task<string> PendingInAsync(string sessionId)
    {
        while (true)
        {
            var pending = (await _world.Http.GetOkAsync($"/api/approvals?status=pending&sessionId={sessionId}")).EnumerateArray().ToList();
            if (pending.Count > 0)
            {
                return pending[0].GetProperty("id").GetString()!;
            }

            await using var events = await SseClient.ConnectAsync(_world.Http, $"/api/sessions/{sessionId}/events", null);
            await events.WaitForAsync("approval.requested");
        }
    }

    private async Task WaitIdleAsync(string sessionId)
    {
        await using var events = await SseClient.ConnectAsync(_world.Http, $"/api/sessions/{sessionId}/events", null);
        await events.WaitForAsync(e => e.Event == "turn.completed");
    }

    private async Task<DoorAnswer> DecideAsync(Role role, string decision, string prompt) => await DoorAnswer.Of(await Http(role).PostAsJsonAsync(
        $"/api/approvals/{await NewApprovalAsync(prompt)}/decision", new { decision, message = decision == Decisions.Deny ? "no" : null }));

    /// <summary>
    /// The inbox's batch: two fresh calls decided together. The request itself is every paired person's to make; each call is
    /// the gatekeeper's to allow or refuse, so both results must be the table's answer (and the same one).
    /// </summary>
    private async Task<DoorAnswer> DecideTogetherAsync(Role role, string decision)
    {
        var ids = new[] { await NewApprovalAsync("run: make it"), await NewApprovalAsync("run: make it") };
        var response = await Http(role).PostAsJsonAsync("/api/approvals/decisions", new { decisions = ids.Select(id => new { id, decision }) });
        if (!response.IsSuccessStatusCode)
        {
            return await DoorAnswer.Of(response);
        }

        var results = JsonElement.Parse(await response.Content.ReadAsStringAsync()).GetProperty("results").EnumerateArray().ToList();
        var answers = results.Select(r => r.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
            ? new DoorAnswer(false, error.GetProperty("code").GetString(), error.GetProperty("detail").GetString() ?? "")
            : new DoorAnswer(true, null, r.GetProperty("decided").GetProperty("status").GetString() ?? "")).ToList();
        Assert.Equal(ids, results.Select(r => r.GetProperty("id").GetString()));
        // Each decided on its own: the two must agree, since the same person decides the same kind of call.
        return answers[0].Allowed == answers[1].Allowed && answers[0].Code == answers[1].Code
            ? answers[0] with { Said = $"both: {answers[0].Said}" }
            : new DoorAnswer(!answers[0].Allowed, "SPLIT", $"the two calls were answered differently: {answers[0].Said} / {answers[1].Said}");
    }

    private async Task<DoorAnswer> AnswerAsync(Role role) => await DoorAnswer.Of(await Http(role).PostAsJsonAsync(
        $"/api/approvals/{await NewApprovalAsync("ask: which?")}/answer", new { answers = new[] { new { selected = new[] { "Yes" } } } }));

    private async Task<DoorAnswer> WriteAsync(Role role, string path) => await DoorAnswer.Of(await Http(role).PutAsync(
        $"/api/projects/{_project}/files/content?path={Uri.EscapeDataString(path)}", new StringContent("{}", System.Text.Encoding.UTF8, "text/plain")));

    // ---- A notification's action (what the service worker posts) ----

    private async Task<DoorAnswer> NotificationAsync(Role role, string decision)
    {
        var id = await NewApprovalAsync("run: make it");
        var token = _world.Server.Services.GetRequiredService<PocketCoder.Notifications.NotificationActions>().Token(id, _people[role].Phone.DeviceId);
        return await DoorAnswer.Of(await Http(role).PostAsJsonAsync($"/api/approvals/{id}/decision",
            new { decision, via = "notification", allowToken = decision == Decisions.Deny ? null : token }));
    }

    // ---- The owner's terminal (its device is the machine's first owner's: no one else has one) ----

    private string[] Target => ["--data", _world.Server.DataDirectory, "--url", _world.Server.BaseUrl.ToString()];

    private async Task<DoorAnswer> CliAsync(Role role, params string[] arguments)
    {
        if (role != Role.Owner)
        {
            // A terminal on the machine is its owner's; other people have none: the door is not theirs to try.
            return DoorAnswer.NotOffered;
        }

        var error = new StringWriter();
        var code = await CommandLine.RunAsync([.. arguments, .. Target], new StringWriter(), error);
        return new DoorAnswer(code == 0, null, error.ToString());
    }

    private async Task<DoorAnswer> CliDecideAsync(Role role, string decision)
    {
        var id = await NewApprovalAsync("run: make it");
        return decision == Decisions.Deny ? await CliAsync(role, "deny", id, "--message", "no") : await CliAsync(role, "approve", id);
    }

    private async Task<DoorAnswer> CliSendAsync(Role role) => await CliAsync(role, "send", await OwnersSessionAsync(SessionModes.Ask, grant: false), "carry on");

    // ---- The chat ----

    /// <summary>
    /// Says something in the person's chat and waits for what shows how it went: the bot's refusal, or
    /// <paramref name="allowed"/> becoming true (a reply, or the agent getting the message, which also brings its turn there).
    /// </summary>
    private async Task<DoorAnswer> ChatAsync(Role role, string text, Func<IReadOnlyList<BotMessage>, bool> allowed)
    {
        var chat = ChatOf(role);
        var seen = _telegram.Messages(chat).Count;
        Say(role, text);
        static bool Refusal(BotMessage m) => m.Text.StartsWith("Only ", StringComparison.Ordinal) || m.Text.Contains("could not allow alone", StringComparison.Ordinal);
        return await _telegram.WaitForAsync(t =>
        {
            var since = t.Messages(chat).Skip(seen).ToList();
            return since.FirstOrDefault(Refusal) is { } refused ? new DoorAnswer(false, null, refused.Text)
                : allowed(since) ? new DoorAnswer(true, null, string.Join(" | ", since.Select(m => m.Text))) : null;
        }, $"how {role.ToWire()}'s \"{text}\" went");
    }

    private static Func<IReadOnlyList<BotMessage>, bool> Replied(string words) => since => since.Any(m => m.Text.Contains(words, StringComparison.Ordinal));

    /// <summary>The agent got a message with these words (its turn then shows in the chat).</summary>
    private Func<IReadOnlyList<BotMessage>, bool> AgentGot(string words) => _ => _world.Fake!.Started.Any(s => s.Sent.Contains(words));

    private async Task<DoorAnswer> ChatStartAsync(Role role)
    {
        var words = $"hello {Interlocked.Increment(ref _made)}";
        return await ChatAsync(role, $"/new {words}", AgentGot(words));
    }

    /// <summary>The session the person's chat steers now (the last it started), if any.</summary>
    private async Task<string?> ChatSessionAsync(Role role) => (await _world.Http.GetOkAsync("/api/bridges"))[0].GetProperty("channels").EnumerateArray()
        .Where(c => c.GetProperty("chatId").GetString() == ChatOf(role)).Select(c => c.GetProperty("sessionId").GetString()).FirstOrDefault();

    /// <summary>The owner switches the session the person's chat steers to <paramref name="mode"/> (from the app: the chat is not theirs).</summary>
    private async Task OwnerSwitchesAsync(Role role, string mode)
    {
        if (await ChatSessionAsync(role) is { } session)
        {
            await _world.Http.PatchOkAsync($"/api/sessions/{session}", new { mode });
        }
    }

    private async Task<DoorAnswer> ChatModeAsync(Role role)
    {
        var answer = await ChatAsync(role, "/mode trusted", Replied("Mode: trusted"));
        await OwnerSwitchesAsync(role, SessionModes.Ask);
        return answer;
    }

    private async Task<DoorAnswer> ChatSteerAsync(Role role, bool trusted)
    {
        if (trusted)
        {
            await OwnerSwitchesAsync(role, SessionModes.Trusted);
        }

        var words = $"carry on {Interlocked.Increment(ref _made)}";
        var answer = await ChatAsync(role, words, AgentGot(words));
        await OwnerSwitchesAsync(role, SessionModes.Ask);
        return answer;
    }

    /// <summary>A press of the approval message's button for <paramref name="decision"/>, answered on the button.</summary>
    private async Task<DoorAnswer> PressAsync(Role role, string decision)
    {
        // The platform's answers to presses name no one: one press at a time, so each answer is this one's.
        await _pressing.WaitAsync();
        try
        {
            return await PressAloneAsync(role, decision);
        }
        finally
        {
            _pressing.Release();
        }
    }

    private readonly SemaphoreSlim _pressing = new(1, 1);

    private async Task<DoorAnswer> PressAloneAsync(Role role, string decision)
    {
        var word = $"pressed{Interlocked.Increment(ref _made)}";
        await NewApprovalAsync($"run: echo {word}", _rooms[role]);
        var message = await _telegram.MessageAsync(ChatOf(role), $"$ echo {word}");
        var answers = _telegram.Answers.Count;
        var label = decision switch { Decisions.AllowOnce => "Allow once", Decisions.AllowSession => "All Bash this session", _ => "Deny" };
        _telegram.Press(message, label, _people[role].ChatUser, "u" + _people[role].ChatUser);
        var said = await _telegram.WaitForAsync(t => t.Answers.Skip(answers).FirstOrDefault(), $"the answer to {role.ToWire()}'s press");
        return new DoorAnswer(said is "Allowed." or "Denied.", null, said);
    }

    public async ValueTask DisposeAsync()
    {
        await _world.DisposeAsync();
        await _telegram.DisposeAsync();
    }
}
