using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// A user's whole set-up for one test, for any agent: the fake model, the real server driving the REAL
/// agent CLI against it, a paired phone, and a registered git repository.
/// </summary>
public sealed class AgentWorld : IAsyncDisposable
{
    private readonly Func<FakeModelServer, string, IReadOnlyDictionary<string, AgentCommand>> _agents;
    private readonly TimeProvider? _clock;
    private readonly TimeSpan? _pauseWaitingAfter;
    private readonly IReadOnlyDictionary<string, string>? _networkHosts;
    private readonly IReadOnlyDictionary<string, string?>? _registeredAgentEnvironment;

    private AgentWorld(string agent, Func<FakeModelServer, string, IReadOnlyDictionary<string, AgentCommand>> agents, TimeProvider? clock,
        TimeSpan? pauseWaitingAfter, FakeModelServer model, TestServer server, PairedClient phone, string repository, string home, string projectId,
        IReadOnlyDictionary<string, string>? networkHosts = null, IReadOnlyDictionary<string, string?>? registeredAgentEnvironment = null)
    {
        _networkHosts = networkHosts;
        _registeredAgentEnvironment = registeredAgentEnvironment;
        Agent = agent;
        _agents = agents;
        _clock = clock;
        _pauseWaitingAfter = pauseWaitingAfter;
        Model = model;
        Server = server;
        Phone = phone;
        Repository = repository;
        Home = home;
        ProjectId = projectId;
    }

    public string Agent { get; }

    /// <summary>The agent with no process behind it, in a world started by <see cref="FakeAsync"/>.</summary>
    public FakeAgent? Fake { get; private init; }

    public FakeModelServer Model { get; }

    public TestServer Server { get; private set; }

    public PairedClient Phone { get; private set; }

    public string Repository { get; }

    public string Home { get; }

    public string ProjectId { get; }

    public HttpClient Http => Phone.Http;

    /// <summary>A path in the agent's home of PocketCoder's own, where a sandboxed agent keeps what it keeps in <see cref="Home"/>.</summary>
    public string AgentHomePath(params string[] relative) => Path.Combine([Server.DataDirectory, "agents", Agent, "home", .. relative]);

    /// <param name="clock">A clock the test moves by hand (timeouts, suspension), or the real one.</param>
    /// <param name="pauseWaitingAfter">How long a call waits for the owner before the agent is paused (the server's setting).</param>
    public static Task<AgentWorld> ClaudeAsync(TimeProvider? clock = null, TimeSpan? pauseWaitingAfter = null) =>
        StartAsync("claude-code", ClaudeCli.Against, clock, pauseWaitingAfter: pauseWaitingAfter);

    /// <summary>The server runs <paramref name="fake"/> as its only agent (nothing of a model is used).</summary>
    public static Task<AgentWorld> FakeAsync(FakeAgent fake, TimeProvider? clock = null, TimeSpan? pauseWaitingAfter = null) =>
        StartAsync(FakeAgent.AgentId, (_, _) => new Dictionary<string, AgentCommand>(), clock, pauseWaitingAfter: pauseWaitingAfter, fake: fake);

    public static Task<AgentWorld> GeminiAsync() => NamedAsync("gemini");

    public static Task<AgentWorld> CodexAsync() => NamedAsync("codex");

    public static Task<AgentWorld> OpenCodeAsync() => NamedAsync("opencode");

    public static Task<AgentWorld> CopilotAsync() => NamedAsync("copilot");

    public static Task<AgentWorld> QwenAsync() => NamedAsync("qwen");

    /// <summary>claude-agent-acp, registered by the owner in agents.json (see <see cref="ClaudeAgentAcp"/>).</summary>
    public static Task<AgentWorld> ClaudeAcpAsync() => NamedAsync(ClaudeAgentAcp.AgentId);

    /// <summary>Every named agent PocketCoder is tested against (the agent matrix, the resume matrix).</summary>
    public static IReadOnlyList<string> Named => ["claude-code", "codex", "opencode", "gemini", ClaudeAgentAcp.AgentId, "copilot", "qwen", "pi", "kilo"];

    /// <summary>One of <see cref="Named"/>, set up as its own start method would.</summary>
    /// <param name="clock">A clock the test moves by hand (suspension), or the real one.</param>
    /// <param name="pauseWaitingAfter">How long a call waits for the owner before the agent is paused (the server's setting).</param>
    public static Task<AgentWorld> NamedAsync(string agent, TimeProvider? clock = null, TimeSpan? pauseWaitingAfter = null) => agent switch
    {
        ClaudeAgentAcp.AgentId => StartAsync(agent, (_, _) => new Dictionary<string, AgentCommand>(), clock, prepareData: ClaudeAgentAcp.Register,
            pauseWaitingAfter: pauseWaitingAfter),
        _ => StartAsync(agent, (model, home) => CommandsOf(agent, model, home), clock, pauseWaitingAfter: pauseWaitingAfter),
    };

    /// <summary>How the server is told to launch one of <see cref="Named"/> (but claude-agent-acp, which the owner registers), against the fake model.</summary>
    public static IReadOnlyDictionary<string, AgentCommand> CommandsOf(string agent, FakeModelServer model, string home) => agent switch
    {
        "claude-code" => ClaudeCli.Against(model, home),
        "codex" => AgentClis.Codex(model, home),
        "opencode" => AgentClis.OpenCode(model, home),
        "gemini" => GeminiCli.Against(model, home),
        "copilot" => AgentClis.Copilot(model, home),
        "qwen" => AgentClis.Qwen(model, home),
        "pi" => AgentClis.Pi(model, home),
        "kilo" => AgentClis.Kilo(model, home),
        _ => throw new ArgumentOutOfRangeException(nameof(agent), agent, "not a named agent started by its own command"),
    };

    /// <summary>A shell script in the place of the claude executable, run by the server as it runs Claude.</summary>
    public static Task<AgentWorld> StandInClaudeAsync(string script) =>
        StartAsync("claude-code", (_, home) =>
        {
            var executable = Path.Combine(TempPaths.NewDirectory("pc-agent"), "claude");
            File.WriteAllText(executable, $"#!/bin/sh\n{script}\n");
            File.SetUnixFileMode(executable, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return new Dictionary<string, AgentCommand> { ["claude-code"] = new AgentCommand(executable, new Dictionary<string, string?> { ["HOME"] = home }) };
        });

    /// <param name="prepareData">Writes into the data folder before the server starts (e.g. agents.json).</param>
    /// <param name="bubblewrap">The bubblewrap the server sandboxes agents with (one that does not work, say); bwrap from PATH when null.</param>
    /// <param name="networkHosts">Names the sandboxes' proxy connects to at the address given (the test's own servers on loopback).</param>
    /// <param name="registeredAgentEnvironment">What the server's environment holds for the agents agents.json registers (a key it holds).</param>
    public static async Task<AgentWorld> StartAsync(string agent, Func<FakeModelServer, string, IReadOnlyDictionary<string, AgentCommand>> agents,
        TimeProvider? clock = null, Action<string, FakeModelServer, string>? prepareData = null, TimeSpan? pauseWaitingAfter = null, string? bubblewrap = null,
        FakeAgent? fake = null, IReadOnlyDictionary<string, string>? networkHosts = null,
        Func<FakeModelServer, string, IReadOnlyDictionary<string, string?>>? registeredAgentEnvironment = null)
    {
        var model = await FakeModelServer.StartAsync();
        var home = TempPaths.NewDirectory("pc-home");
        var data = TempPaths.NewDirectory("pc-data");
        prepareData?.Invoke(data, model, home);
        var registered = registeredAgentEnvironment?.Invoke(model, home);
        var server = await TestServer.StartAsync(data, agents(model, home), clock, pauseWaitingAfter: pauseWaitingAfter, bubblewrap: bubblewrap,
            fakeAgent: fake, networkHosts: networkHosts, registeredAgentEnvironment: registered);
        var phone = await server.PairAsync();
        var repository = TempPaths.NewGitRepository();
        var project = await phone.Http.PostOkAsync("/api/projects", new { path = repository, name = "demo" });
        return new AgentWorld(agent, agents, clock, pauseWaitingAfter, model, server, phone, repository, home, project.GetProperty("id").GetString()!,
            networkHosts, registered) { Fake = fake };
    }

    /// <summary>This agent's own shell tool asked to run <paramref name="command"/> (each agent names it its own way).</summary>
    public ScriptedReply ShellCall(string command) => ShellCallOf(Agent, command);

    /// <summary><paramref name="agent"/>'s own shell tool asked to run <paramref name="command"/>.</summary>
    public static ScriptedReply ShellCallOf(string agent, string command) => agent switch
    {
        "codex" => ScriptedReply.ToolUse("exec_command", new { cmd = command }),
        "opencode" or "kilo" => ScriptedReply.ToolUse("bash", new { command, description = "run it" }),
        "gemini" or "qwen" => ScriptedReply.ToolUse("run_shell_command", new { command, description = "run it" }),
        "copilot" => ScriptedReply.ToolUse("bash", new { command, description = "run it" }),
        "pi" => ScriptedReply.ToolUse("bash", new { command }),
        _ => ScriptedReply.ToolUse("Bash", new { command, description = "run it" }),
    };

    public async Task<string> StartSessionAsync(string prompt, string? mode = null, string? model = null)
    {
        var session = await Http.PostOkAsync($"/api/projects/{ProjectId}/sessions", new { agent = Agent, prompt, mode, model });
        return session.GetProperty("id").GetString()!;
    }

    /// <summary>Sends a user message; the server answers 202 and the turn runs on.</summary>
    public async Task SendAsync(string sessionId, string text)
    {
        var response = await Http.PostAsJsonAsync($"/api/sessions/{sessionId}/messages", new { text });
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
    }

    public async Task CancelAsync(string sessionId)
    {
        var response = await Http.PostAsync($"/api/sessions/{sessionId}/cancel", null);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The agent's own CLI, run in the project folder as in a terminal; returns what it printed.</summary>
    public Task<string> RunInTerminalAsync(params string[] arguments) => AgentClis.RunInTerminalAsync(_agents(Model, Home)[Agent], Repository, arguments);

    public async Task<JsonElement> SessionAsync(string sessionId) => await Http.GetOkAsync($"/api/sessions/{sessionId}");

    public Task<SseClient> EventsAsync(string sessionId, string? lastEventId = null) =>
        SseClient.ConnectAsync(Http, $"/api/sessions/{sessionId}/events", lastEventId);

    /// <param name="updatedInput">The tool input as it should run instead ("edit, then allow").</param>
    public async Task<HttpResponseMessage> DecideAsync(string approvalId, string decision, string? message = null, object? updatedInput = null) =>
        await Http.PostAsJsonAsync($"/api/approvals/{approvalId}/decision", new { decision, message, updatedInput });

    /// <summary>Stops the server like Ctrl+C and starts a new one on the same data folder and agent set-up.</summary>
    /// <param name="whileDown">Runs between the stop and the start (time passing while the server is down).</param>
    public Task RestartServerAsync(Action? whileDown = null) => RestartServerAsync(() =>
    {
        whileDown?.Invoke();
        return Task.CompletedTask;
    });

    /// <param name="whileDownAsync">Runs between the stop and the start (e.g. a terminal verb against the stopped server).</param>
    public async Task RestartServerAsync(Func<Task> whileDownAsync)
    {
        await Server.StopAsync();
        await whileDownAsync();
        Server = await TestServer.StartAsync(Server.DataDirectory, _agents(Model, Home), _clock, pauseWaitingAfter: _pauseWaitingAfter, fakeAgent: Fake,
            networkHosts: _networkHosts, registeredAgentEnvironment: _registeredAgentEnvironment);
        var http = new HttpClient { BaseAddress = Server.BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Phone.Token);
        Phone = Phone with { Http = http };
    }

    public async ValueTask DisposeAsync()
    {
        var data = Server.DataDirectory;
        await Server.DisposeAsync();
        TempPaths.Delete(data);
        await Model.DisposeAsync();
        TempPaths.Delete(Repository);
        TempPaths.Delete(Home);
    }
}
