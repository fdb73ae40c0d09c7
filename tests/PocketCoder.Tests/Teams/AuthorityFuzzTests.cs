using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Realtime;
using PocketCoder.Sessions;
using PocketCoder.Teams;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Teams;

/// <summary>
/// A seeded fuzzer over the real server's doors (the session manager, the gatekeeper, people, the team policy; a fake agent
/// whose every message asks to run a command): thousands of short sequences of role changes, narrowing, revocations,
/// policy changes, mode changes, messages, new sessions, decisions of every kind (grants and rules included) and budget
/// raises, from people of every role. After each sequence it checks every command that ran against a model of who was
/// what, rebuilt independently by replaying the ledger in order (people added, changed, narrowed, revoked; devices
/// revoked; the policy changed): at the entry that let it run it was allowed by an owner's rule; or unasked (by a mode or a
/// grant) on the word of whoever started the turn, who could allow shell calls alone then; or by as many different people
/// as the call needed, each active and of the role it needed then.
/// A failure names its seed: <c>POCKETCODER_FUZZ_SEED=N</c> replays that sequence alone; <c>POCKETCODER_FUZZ_SEQUENCES=N</c> runs more.
/// </summary>
public sealed class AuthorityFuzzTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Sequences = 1000;
    private const int Steps = 14;

    [Fact]
    public async Task NoSequence_RunsAShellCall_WithoutTheApprovalsThePolicyRequiredThen()
    {
        var ran = new ConcurrentQueue<Ran>();
        var fake = new FakeAgent { Script = (session, prompt) => Script(session, prompt, ran) };
        await using var server = await TestServer.StartAsync(fakeAgent: fake);
        var world = new FuzzWorld(server, ran);
        var seeds = Environment.GetEnvironmentVariable("POCKETCODER_FUZZ_SEED") is { Length: > 0 } one
            ? [int.Parse(one, System.Globalization.CultureInfo.InvariantCulture)]
            : Enumerable.Range(1, int.TryParse(Environment.GetEnvironmentVariable("POCKETCODER_FUZZ_SEQUENCES"), out var many) ? many : Sequences);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var count = 0;
        foreach (var seed in seeds)
        {
            await world.RunAsync(seed, Steps);
            count++;
        }

        output.WriteLine($"{count} sequences of {Steps} steps, {world.Stats} in {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(world.Ran > count / 4, $"Too few commands ran to mean anything: {world.Stats}.");
    }

    /// <summary>A command that ran (each command's text is unique).</summary>
    internal sealed record Ran(string Command);

    /// <summary>"run: X" asks to run X (and runs it if allowed); each turn reports 100 tokens spent.</summary>
    private static async Task Script(FakeAgentSession session, AgentPrompt prompt, ConcurrentQueue<Ran> ran)
    {
        await session.Sink!.OnEventAsync(new UsageReport(60, 40, 0, 0, null, false), CancellationToken.None);
        if (prompt.Text.StartsWith("run: ", StringComparison.Ordinal))
        {
            var command = prompt.Text[5..];
            if ((await session.AskToRunAsync(command)).Allow)
            {
                ran.Enqueue(new Ran(command));
            }
        }

        await session.EndTurnAsync();
    }
}

/// <summary>The fuzzer's driver: one sequence at a time, each in a project of its own with three new people.</summary>
internal sealed class FuzzWorld(TestServer server, ConcurrentQueue<AuthorityFuzzTests.Ran> ran)
{
    private static readonly string[] Modes = [SessionModes.Ask, SessionModes.Plan, SessionModes.AcceptEdits, SessionModes.Trusted];
    private static readonly string[] DecisionKinds = [Decisions.AllowOnce, Decisions.AllowOnce, Decisions.AllowSession, Decisions.AllowAlways, Decisions.Deny];

    private readonly SessionManager _manager = server.Services.GetRequiredService<SessionManager>();
    private readonly Gatekeeper _gate = server.Services.GetRequiredService<Gatekeeper>();
    private readonly People _people = server.Services.GetRequiredService<People>();
    private readonly Devices _devices = server.Services.GetRequiredService<Devices>();
    private readonly TeamPolicies _policies = server.Services.GetRequiredService<TeamPolicies>();
    private readonly ProjectStore _projects = server.Services.GetRequiredService<ProjectStore>();
    private readonly ApprovalStore _approvals = server.Services.GetRequiredService<ApprovalStore>();
    private readonly EventHub _hub = server.Services.GetRequiredService<EventHub>();
    private readonly PocketCoder.Ledger.LedgerStore _ledger = server.Services.GetRequiredService<PocketCoder.Ledger.LedgerStore>();

    private Actor _owner = null!;
    private string _ownerPerson = null!;
    private readonly List<(string PersonId, Actor Device)> _members = [];
    private readonly List<string> _sessions = [];
    private string _project = "";
    private int _made;
    private int _seed;
    private List<string> _did = [];
    private int _refused;
    private int _asked;

    public int Ran { get; private set; }

    public string Stats => $"{Ran} commands ran, {_refused} steps refused, {_asked} calls asked";

    public async Task RunAsync(int seed, int steps)
    {
        var random = new Random(seed);
        var from = _ledger.Head().Seq;
        (_seed, _did) = (seed, []);
        var did = _did;
        await SetUpAsync(seed, random);
        for (var step = 0; step < steps; step++)
        {
            did.Add(await StepAsync(random));
        }

        // Nothing more runs in the sequence's sessions: what ran is all there is to check.
        foreach (var session in _sessions)
        {
            await _manager.StopAsync(session, _owner, CancellationToken.None);
        }

        var commands = new List<string>();
        while (ran.TryDequeue(out var command))
        {
            commands.Add(command.Command);
        }

        Ran += commands.Count;
        var judged = new LedgerReplay(_ownerPerson, _members, _project, _approvals).Judge(_ledger.Page(from, 100_000));
        foreach (var command in commands)
        {
            var why = judged.TryGetValue(command, out var verdict) ? verdict : "the ledger says nothing allowed it";
            Assert.True(why is null, $"Seed {seed}: '{command}' ran, but {why}. Steps: {string.Join("; ", did)}. Replay: POCKETCODER_FUZZ_SEED={seed}");
        }

        // Each project has a file watcher (an inotify instance, of which a user has 128): a sequence's goes with it.
        _projects.Remove(_project, _owner);
    }

    private async Task SetUpAsync(int seed, Random random)
    {
        if (_ownerPerson is null)
        {
            var (device, _) = _devices.CreateLocalDevice("fuzz owner");
            (_owner, _ownerPerson) = (new Actor(device.Id, device.Name), device.PersonId!);
        }

        _project = _projects.Add(TempPaths.NewDirectory("fuzz"), $"fuzz {seed}", _owner).Id;
        // What is fuzzed is who may decide, not the sandbox: without it a fake agent starts in a few milliseconds.
        _projects.Update(_project, null, false, null, PocketCoder.Sessions.Sandboxing.None, null, _owner);
        _members.Clear();
        _members.Add((_ownerPerson, _owner));
        foreach (var name in new[] { "Ana", "Ben", "Cy" })
        {
            var person = _people.Add($"{name}{seed}", (Role)random.Next(0, 4), _owner);
            var (device, _) = _devices.Redeem(_devices.CreatePairingCode(person.Id).Code, $"{name}{seed}'s phone")!.Value;
            _members.Add((person.Id, new Actor(device.Id, device.Name)));
        }

        _sessions.Clear();
        await TryAsync("start", () => StartSessionAsync(_owner, SessionModes.Ask));
    }

    private Actor Anyone(Random random) => _members[random.Next(_members.Count)].Device;

    private string Someone(Random random) => _members[1 + random.Next(_members.Count - 1)].PersonId;

    private async Task<string> StepAsync(Random random)
    {
        switch (random.Next(0, 11))
        {
            case 0:
                var role = (Role)random.Next(0, 3);
                return Try($"role {role}", () => _people.Change(Someone(random), null, role, _owner));
            case 1:
                Role? to = random.Next(0, 3) is var r && r == 2 ? null : (Role)r;
                return Try($"narrowed {to}", () => _people.SetMembership(_project, Someone(random), to, _owner));
            case 2:
                return random.Next(0, 3) == 0 ? Try("revoked", () => _people.Revoke(Someone(random), _owner)) : "nothing";
            case 3:
                var policy = TeamPolicy.Default with
                {
                    Deciders = new Dictionary<string, string> { [RiskClasses.Shell] = ((Role)random.Next(1, 4)).ToWire() },
                    TwoPerson = random.Next(0, 3) == 0 ? [RiskClasses.Shell] : [],
                    Budget = random.Next(0, 3) == 0 ? new BudgetPolicy(BudgetPolicy.Day, new BudgetCap(250, null), null) : BudgetPolicy.None,
                };
                _policies.Set(_project, policy, _owner);
                return "policy";
            case 4 when _sessions.Count > 0:
                var mode = Modes[random.Next(Modes.Length)];
                return await SettledAsync($"mode {mode}", () => _manager.SetModeAsync(Session(random), mode, Anyone(random), CancellationToken.None));
            case 5 or 6 or 7 when _sessions.Count > 0:
                var session = Session(random);
                var sender = Anyone(random);
                return await SettledAsync("send", () => _manager.SendAsync(session, OwnerMessage.FromText($"run: cmd{++_made}"), sender, CancellationToken.None));
            case 8:
                var starter = Anyone(random);
                return await SettledAsync("start", () => StartSessionAsync(starter, Modes[random.Next(Modes.Length)]));
            default:
                return await DecideAsync(random);
        }
    }

    private string Session(Random random) => _sessions[random.Next(_sessions.Count)];

    private async Task StartSessionAsync(Actor actor, string mode)
    {
        var session = await _manager.CreateAsync(_project, FakeAgent.AgentId, OwnerMessage.FromText($"run: cmd{++_made}"), null, mode, actor, CancellationToken.None);
        _sessions.Add(session.Id);
    }

    /// <summary>Decides a pending call of the sequence (a budget's too) as someone, with any decision.</summary>
    private async Task<string> DecideAsync(Random random)
    {
        var pending = _approvals.List(ApprovalStatus.Pending, null).Where(a => a.ProjectId == _project).ToList();
        if (pending.Count == 0)
        {
            return "nothing to decide";
        }

        var approval = pending[random.Next(pending.Count)];
        var decider = Anyone(random);
        var decision = approval.Kind is ApprovalKind.Budget && random.Next(0, 2) == 0 ? Decisions.AllowOnce : DecisionKinds[random.Next(DecisionKinds.Length)];
        return await SettledAsync($"{decision} {approval.Kind}", () =>
        {
            _gate.Decide(approval.Id, decision, null, null, decider);
            return Task.CompletedTask;
        });
    }

    /// <summary>Does something, then waits until every session of the sequence is idle or waits for someone (no sleeps: each event re-checks).</summary>
    private async Task<string> SettledAsync(string what, Func<Task> act)
    {
        using var watch = _hub.Subscribe(null, 100_000);
        var done = await TryAsync(what, act);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new List<string>();
        try
        {
            while (!Settled())
            {
                // Each event re-checks. One flip has no event of its own: a turn claimed for a queued message that is then
                // held (its sender may no longer steer) is let go silently, the session's status never having changed; so
                // a quiet fifth of a second re-checks too.
                using var quiet = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
                quiet.CancelAfter(TimeSpan.FromMilliseconds(200));
                try
                {
                    var item = await watch.Reader.ReadAsync(quiet.Token);
                    _asked += item.Stored?.Kind == "approval.requested" ? 1 : 0;
                    seen.Add($"{item.Stored?.SessionId[..6]}:{item.Stored?.Kind ?? item.Ephemeral?.Kind}");
                }
                catch (OperationCanceledException) when (!timeout.IsCancellationRequested)
                {
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Something hangs: a session works on with no one asked. That is a finding, said whole.
            var stuck = _sessions.Where(session => !Settled([session])).Select(session =>
                $"{session}: {server.Services.GetRequiredService<SessionStore>().Get(session).Status}, queue {string.Join(",", server.Services.GetRequiredService<PocketCoder.Sessions.SessionQueues>().Queue(session).Messages.Select(m => m.Text + (m.HeldReason is null ? "" : " (held)")))}");
            throw new TimeoutException($"Seed {_seed}: after '{done}' the sessions never settled: {string.Join("; ", stuck)}. Steps: {string.Join("; ", _did)}. "
                + $"Events: {string.Join(", ", seen)}. Sessions: {string.Join(", ", _sessions.Select(x => x[..6] + (_manager.IsWorking(x) ? " working" : "")))}");
        }

        return done;
    }

    private bool Settled(IEnumerable<string>? sessions = null) => (sessions ?? _sessions).All(session => !_manager.IsWorking(session)
        || _approvals.List(ApprovalStatus.Pending, session).Count > 0);

    private string Try(string what, Action act)
    {
        try
        {
            act();
            return what;
        }
        catch (ApiProblem problem)
        {
            _refused++;
            return $"{what}: refused ({problem.Code})";
        }
    }

    private async Task<string> TryAsync(string what, Func<Task> act)
    {
        try
        {
            await act();
            return what;
        }
        catch (ApiProblem problem)
        {
            _refused++;
            return $"{what}: refused ({problem.Code})";
        }
    }
}

/// <summary>
/// Who was what at each ledger entry, rebuilt by replaying the ledger in order with rules of its own (not the server's
/// table): and, at each entry that let a command run, whether it should have.
/// </summary>
internal sealed class LedgerReplay(string ownerPerson, IReadOnlyList<(string PersonId, Actor Device)> members, string projectId, ApprovalStore approvals)
{
    private readonly Dictionary<string, (string Name, Role Role)> _people = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Role> _narrowed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _revoked = new(StringComparer.Ordinal);
    private Role _shellLeast = Role.Approver;
    private bool _shellTwo;

    /// <summary>For each command an entry let run: null when it rightly did, else why not.</summary>
    public Dictionary<string, string?> Judge(IReadOnlyList<PocketCoder.Ledger.LedgerEntry> entries)
    {
        _people[ownerPerson] = ("Owner", Role.Owner);
        var verdicts = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var detail = JsonDocument.Parse(entry.Detail).RootElement;
            Apply(entry, detail);
            if (Command(detail) is { } command && entry.Action is "approval.auto_allowed" or "approval.decided" && Str(detail, "decision") != Decisions.Deny
                && (entry.Action != "approval.decided" || approvals.Find(entry.Subject) is { Kind: not ApprovalKind.Budget }))
            {
                verdicts[command] = entry.Action == "approval.auto_allowed"
                    ? Str(detail, "ruleId") is not null ? null : Unasked(Str(detail, "turnBy"))
                    : Decided(approvals.Find(entry.Subject)!, detail);
            }
        }

        return verdicts;
    }

    private void Apply(PocketCoder.Ledger.LedgerEntry entry, JsonElement detail)
    {
        switch (entry.Action)
        {
            case "person.added":
                _people[entry.Subject] = (Str(detail, "name")!, Roles.FromWire(Str(detail, "role"))!.Value);
                break;
            case "person.changed":
                _people[entry.Subject] = (Str(detail, "name")!, Roles.FromWire(Str(detail, "role"))!.Value);
                break;
            case "person.revoked" or "device.revoked":
                _revoked.Add(entry.Subject);
                break;
            case "member.set" when entry.Subject == projectId:
                _narrowed[Str(detail, "personId")!] = Roles.FromWire(Str(detail, "role"))!.Value;
                break;
            case "member.cleared" when entry.Subject == projectId:
                _narrowed.Remove(Str(detail, "personId")!);
                break;
            case "policy.changed" when entry.Subject == projectId:
                var policy = detail.GetProperty("policy");
                _shellLeast = policy.GetProperty("deciders").TryGetProperty(RiskClasses.Shell, out var least) ? Roles.FromWire(least.GetString())!.Value : Role.Approver;
                _shellTwo = policy.GetProperty("twoPerson").EnumerateArray().Any(k => k.GetString() == RiskClasses.Shell);
                break;
        }
    }

    /// <summary>The person's role in the project now, or null when they (or their device) may do nothing.</summary>
    private Role? RoleOf(string personId, string? deviceId)
    {
        if (_revoked.Contains(personId) || (deviceId is not null && _revoked.Contains(deviceId)) || !_people.TryGetValue(personId, out var person))
        {
            return null;
        }

        return person.Role != Role.Owner && _narrowed.TryGetValue(personId, out var narrowed) && narrowed < person.Role ? narrowed : person.Role;
    }

    private string? Unasked(string? turnBy)
    {
        var member = members.FirstOrDefault(m => m.Device.Id == turnBy);
        if (member.Device is null)
        {
            return "it was allowed unasked with no one known to have started the turn";
        }

        var role = RoleOf(member.PersonId, member.Device.Id);
        return role >= _shellLeast && !_shellTwo ? null
            : $"it was allowed unasked on the word of {member.Device.Name} ({role?.ToString() ?? "revoked"}) with shell calls decided by {_shellLeast.AndAbove()}{(_shellTwo ? ", two people" : "")}";
    }

    private string? Decided(Approval approval, JsonElement detail)
    {
        var names = detail.TryGetProperty("allowedBy", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(n => n.GetString()!).ToList() : [Str(detail, "person")!];
        var least = Roles.FromWire(approval.DeciderRole) ?? Role.Approver;
        var counted = names.Distinct().Count(name => _people.FirstOrDefault(p => p.Value.Name == name).Key is { } person && RoleOf(person, null) >= least);
        return counted >= approval.Needed ? null
            : $"it was allowed by {string.Join(", ", names)}, of whom {counted} were active {least.AndAbove()} then, and it needed {approval.Needed}";
    }

    private static string? Command(JsonElement detail) =>
        detail.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.Object ? Str(input, "command") : null;

    private static string? Str(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
