using PocketCoder.Agents;
using PocketCoder.Agents.Acp;
using PocketCoder.Agents.Claude;
using PocketCoder.Agents.Codex;
using PocketCoder.Agents.OpenCode;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Backlog;
using PocketCoder.Bridges;
using PocketCoder.Costs;
using PocketCoder.Watch;
using PocketCoder.Data;
using PocketCoder.Goals;
using PocketCoder.Errors;
using PocketCoder.Health;
using PocketCoder.Hub;
using PocketCoder.Ledger;
using PocketCoder.Mcp;
using PocketCoder.ModelLists;
using PocketCoder.Notifications;
using PocketCoder.Previews;
using PocketCoder.Profiles;
using PocketCoder.Projects;
using PocketCoder.Reach;
using PocketCoder.Passkeys;
using PocketCoder.Reach.Connected;
using PocketCoder.Reach.Hub;
using PocketCoder.Realtime;
using PocketCoder.Sessions;
using PocketCoder.Teams;
using PocketCoder.Web;
using PocketCoder.Workspace.Commands;
using PocketCoder.Workspace.Files;
using PocketCoder.Workspace.Git;
using PocketCoder.Workspace.Terminal;
using PocketCoder.Workspace.Worktrees;

namespace PocketCoder.Server;

/// <summary>Composes the server: this file is the table of contents of what PocketCoder serves.</summary>
public static class PocketCoderServer
{
    /// <summary>JSON bodies are small; the limit keeps a hostile client from making us buffer megabytes.</summary>
    public const long MaxRequestBodyBytes = 2 * 1024 * 1024;

    /// <param name="testServices">Applied after every registration: a test's own stand-ins (an agent with no process behind it).</param>
    public static WebApplication Build(PocketCoderOptions options, TimeProvider? clock = null, Action<IServiceCollection>? testServices = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Production" });
        var previewOrigin = new Previews.PreviewOrigin();
        var challenges = builder.WebHost.UseReach(options, previewOrigin);
        builder.Logging.UseServerLogging(options.ConsoleLogging, options.LogSink);
        // A start that fails (the port taken since serve checked it) is said by serve in one line; the host would log it
        // first with its stack trace. A background service that fails is still logged here, at Critical, as it stops the host.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);

        var database = new Database(options.DataDirectory);
        database.Migrate();

        // Hosted services start in the order they are added here, and stop in reverse.
        builder.Services
            .AddSingleton(options).AddSingleton(clock ?? TimeProvider.System)
            // From a factory, so the container disposes it (committing anything still queued) after every other service.
            .AddSingleton(_ => database)
            .AddHostedService<DatabaseLifetime>()
            .AddLedger()
            .AddAuth()
            .AddTeams()
            .AddProjects()
            .AddFolders()
            .AddProfiles()
            .AddModelLists()
            .AddMcpServers()
            .AddApprovals()
            .AddEvents()
            // Before the sessions: the owner's limit on running agents holds from the first start.
            .AddResources()
            .AddSessions(new AgentRegistry(Adapters(options)))
            .AddHealth()
            .AddGit()
            .AddWorktrees()
            .AddCommands()
            .AddFiles()
            .AddTerminal()
            .AddNotifications(options)
            // After the session manager: the backlog starts sessions, and stops (first) before the manager stops them.
            .AddBacklog()
            // After the session manager and the command runner: a goal's turns are sent, and its check run, through them.
            .AddGoals()
            .AddCosts()
            .AddWatch()
            .AddConnected()
            .AddPasskeys()
            .AddBridges()
            .AddReach(options, challenges)
            .AddSingleton(previewOrigin)
            .AddPreviews()
            // Last: it waits for start-up's work (the push warm-up, the agent and sandbox probes) before it lets go of its pages.
            .AddRunningSingleton<StartupPages>()
            .AddWireFormat(options.LiveApiDocument);

        testServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.UsePipeline(options);
        app.MapApi(options.LiveApiDocument);

        // Where phones find this server, for `pocketcoder pair` (which runs as its own process).
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var bound = BoundUrl(app, options);
            new ServerAddress(bound, options.PublicUrl ?? bound).Write(options.DataDirectory);
        });
        ForgetRemovedProjects(app.Services);
        return app;
    }

    /// <summary>What every request passes through, in this order.</summary>
    private static void UsePipeline(this WebApplication app, PocketCoderOptions options)
    {
        // Before all else: the preview origin's requests never reach the app, its API or its cookies' checks.
        app.UsePreviewOrigin();
        app.UseProblemResponses();
        app.UseAllowedHosts(options);
        // Before the app's files and authentication: a preflight carries no token, and another machine's app reads 401s too.
        app.UseCrossOriginApps();
        app.UseResponseCompression();
        app.MapWebApp();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseDeviceGuards();
        app.UseRoleGuard();
    }

    /// <summary>The API: one group of routes per feature, and the document that describes them.</summary>
    private static void MapApi(this WebApplication app, bool liveApiDocument)
    {
        var api = app.MapGroup("/api");
        api.MapHealth();
        api.MapAuth();
        api.MapTeams();
        api.MapProjects();
        api.MapFolders();
        api.MapSessions();
        api.MapGoals();
        api.MapResources();
        api.MapProfiles();
        api.MapModelLists();
        api.MapMcpServers();
        api.MapEvents();
        api.MapApprovals();
        api.MapLedger();
        api.MapFiles();
        api.MapGit();
        api.MapWorktrees();
        api.MapBacklog();
        api.MapCommands();
        api.MapTerminal();
        api.MapNotifications();
        api.MapPushRelays();
        api.MapBridges();
        api.MapPreviews();
        api.MapCosts();
        api.MapWatch();
        api.MapConnected();
        api.MapPasskeys();
        app.MapApiDocument(liveApiDocument);
    }

    /// <summary>A service others call that also runs with the server (started, then stopped in reverse order): one instance for both.</summary>
    internal static IServiceCollection AddRunningSingleton<[System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicConstructors)] T>(
        this IServiceCollection services) where T : class, IHostedService =>
        services.AddSingleton<T>().AddHostedService(provider => provider.GetRequiredService<T>());

    /// <summary>How the API's bodies look on the wire: problems, compression, validation, the OpenAPI document, JSON.</summary>
    private static IServiceCollection AddWireFormat(this IServiceCollection services, bool liveApiDocument) => services
        .AddProblemResponses()
        .AddResponseCompression(compression =>
        {
            // JSON answers only (the app's own files are compressed at build time; event streams never are, or they
            // would be buffered). Over https too: no response puts a secret beside text an attacker chose (BREACH).
            compression.EnableForHttps = true;
            compression.MimeTypes = ["application/json", "application/problem+json"];
            compression.Providers.Add<Microsoft.AspNetCore.ResponseCompression.BrotliCompressionProvider>();
            compression.Providers.Add<Microsoft.AspNetCore.ResponseCompression.GzipCompressionProvider>();
        })
        .Configure<Microsoft.AspNetCore.ResponseCompression.BrotliCompressionProviderOptions>(o => o.Level = System.IO.Compression.CompressionLevel.Fastest)
        .Configure<Microsoft.AspNetCore.ResponseCompression.GzipCompressionProviderOptions>(o => o.Level = System.IO.Compression.CompressionLevel.Fastest)
        .AddValidation()
        .AddApiDocument(liveApiDocument)
        .ConfigureHttpJsonOptions(json =>
        {
            // Only the generated contexts, with no reflection behind them: a body type missing from WireJson fails the same
            // way under `dotnet run` and in the tests as in the native binary, which has no reflection to fall back on.
            json.SerializerOptions.TypeInfoResolver = System.Text.Json.Serialization.Metadata.JsonTypeInfoResolver.Combine(WireJson.Default, SessionEventJson.Default);
            // A number is a number: "5" for an int is a validation error, and the contract says integer, not integer-or-string.
            json.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        });

    /// <summary>What a removed project leaves behind in services that outlive it.</summary>
    private static void ForgetRemovedProjects(IServiceProvider services)
    {
        // A removed project's shell would be unreachable: close it (the terminal lives as long as the server, not past its project).
        var terminals = services.GetRequiredService<Terminals>();
        var bridges = services.GetRequiredService<BridgeHost>();
        var mcp = services.GetRequiredService<McpServerStore>();
        services.GetRequiredService<ProjectHooks>().Removed += projectId =>
        {
            _ = Task.Run(() => terminals.CloseQuietlyAsync(projectId));
            // Its MCP servers went with it (the database cascades); their secrets go too.
            mcp.ForgetUnusedSecrets();
            // Its bound chats went with it (the database cascades); the bridges forget them too.
            bridges.ChannelsChanged(null);
        };
    }

    /// <summary>The address the server's own socket bound (its port filled in), not the hub's.</summary>
    public static string BoundUrl(WebApplication app, PocketCoderOptions options) =>
        app.Urls.FirstOrDefault(url => !url.EndsWith("://" + HubEndPoint.Name, StringComparison.Ordinal)
            && !url.EndsWith($":{app.Services.GetRequiredService<Previews.PreviewOrigin>().Port}", StringComparison.Ordinal)) ?? options.Listen;

    /// <summary>The agents a server with these options runs: doctor probes exactly these.</summary>
    internal static IEnumerable<IAgentAdapter> Adapters(PocketCoderOptions options)
    {
        (string Id, Func<Agents.Processes.AgentCommand, IAgentAdapter> Create)[] builtIn =
        [
            (ClaudeCodeAdapter.AgentId, command => new ClaudeCodeAdapter(command)),
            (CodexAdapter.AgentId, command => new CodexAdapter(command)),
            (OpenCodeAdapter.AgentId, command => new OpenCodeAdapter(command)),
            (AcpAgentDefinition.GeminiId, command => new AcpAdapter(AcpAgentDefinition.Gemini(command,
                Path.Combine(options.DataDirectory, "agents", AcpAgentDefinition.GeminiId, "gate-policy.toml"), options.GeminiDefaultModel))),
            (AcpAgentDefinition.CopilotId, command => new AcpAdapter(AcpAgentDefinition.Copilot(command))),
            (AcpAgentDefinition.QwenId, command => new AcpAdapter(AcpAgentDefinition.Qwen(command, Path.Combine(options.DataDirectory, "agents", AcpAgentDefinition.QwenId)))),
            (Agents.Pi.PiAdapter.AgentId, command => new Agents.Pi.PiAdapter(command, Path.Combine(options.DataDirectory, "agents", Agents.Pi.PiAdapter.AgentId))),
            (OpenCodeFlavor.KiloId, command => new KiloAdapter(command)),
        ];
        foreach (var (id, create) in builtIn)
        {
            if (options.AgentCommands.TryGetValue(id, out var command))
            {
                yield return create(command);
            }
        }

        // Known by name, never started: each says why (health, New session, and a session asked of it).
        foreach (var refused in RefusedAgents.At(options.AgentCommands))
        {
            yield return refused;
        }

        // The owner's own ACP agents (agents.json in the data folder); a bad file stops the start with its reason.
        foreach (var agent in AcpAgentsFile.Load(options.DataDirectory, [.. PocketCoderOptions.DefaultExecutables.Keys, .. options.AgentCommands.Keys],
            options.RegisteredAgentEnvironment))
        {
            yield return new AcpAdapter(agent);
        }
    }
}
