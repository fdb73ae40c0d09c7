using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using PocketCoder.Agents;
using PocketCoder.Agents.Acp;
using PocketCoder.Agents.Claude;
using PocketCoder.Agents.Codex;
using PocketCoder.Agents.OpenCode;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Backlog;
using PocketCoder.Bridges;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Hub;
using PocketCoder.Health;
using PocketCoder.Ledger;
using PocketCoder.Mcp;
using PocketCoder.Notifications;
using PocketCoder.Profiles;
using PocketCoder.Projects;
using PocketCoder.Reach;
using PocketCoder.Reach.Acme;
using PocketCoder.Reach.Hub;
using PocketCoder.Realtime;
using PocketCoder.Sessions;
using PocketCoder.Web;
using PocketCoder.Workspace.Commands;
using PocketCoder.Workspace.Files;
using PocketCoder.Workspace.Git;
using PocketCoder.Workspace.Terminal;
using PocketCoder.Workspace.Watcher;
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
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = "Production",
        });
        if (options.Certificate is not null)
        {
            // The slim builder leaves TLS out; only a server with a certificate pays for it.
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        var challenges = new AlpnChallenges();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            if (options.Certificate is { } certificate)
            {
                kestrel.ConfigureHttpsDefaults(https =>
                {
                    // Kestrel checks this one at start; each handshake then presents the current files, intermediates included.
                    https.ServerCertificate = certificate.Certificate;
                    https.OnAuthenticate = (_, tls) => tls.ServerCertificateContext = certificate.Context;
                });
            }

            PocketCoder.Hub.KestrelListen.Bind(kestrel, options.Listen, listen =>
            {
                if (PocketCoder.Hub.KestrelListen.IsHttps(options.Listen))
                {
                    if (options.Acme is not null)
                    {
                        // Serving its own name over https: ACME's TLS-ALPN-01 validation arrives here.
                        listen.Use(next => connection => challenges.RespondAsync(connection, next));
                    }

                    listen.UseHttps();
                }
            });
            if (options.Hub is not null)
            {
                // Phones through the hub: TLS ends here, in this Kestrel, with this machine's certificate. ACME's
                // TLS-ALPN-01 validation arrives the same way and is answered ahead of it.
                kestrel.Listen(new HubEndPoint(), listen =>
                {
                    listen.Use(next => connection => challenges.RespondAsync(connection, next));
                    listen.UseHttps();
                });
            }
        });
        builder.Logging.UseServerLogging(options.ConsoleLogging, options.LogSink);
        // The framework's handler base logs every challenge (each unauthenticated request) at Information under our
        // handler's name; refused pairings and revocations are logged by AuthLog instead.
        builder.Logging.AddFilter(typeof(DeviceAuthentication).FullName, LogLevel.Warning);
        // A start that fails (the port taken since serve checked it) is said by serve in one line; the host would log it
        // first with its stack trace. A background service that fails is still logged here, at Critical, as it stops the host.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);

        var database = new Database(options.DataDirectory);
        database.Migrate();

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(clock ?? TimeProvider.System);
        // From a factory, so the container disposes it (committing anything still queued) after every other service.
        services.AddSingleton(_ => database);
        services.AddHostedService<DatabaseLifetime>();
        services.AddSingleton<Ledger.LedgerStore>();
        services.AddSingleton<Devices>();
        services.AddSingleton<PairingThrottle>();
        services.AddSingleton<DeviceConnections>();
        services.AddSingleton<ProjectHooks>();
        services.AddSingleton<Projects.ProjectStore>();
        services.AddSingleton<Projects.Folders>();
        services.AddSingleton<Profiles.ProfileStore>();
        services.AddSingleton<McpServerStore>();
        services.AddSingleton<Rules>();
        services.AddSingleton<Approvals.ApprovalStore>();
        services.AddSingleton<Gatekeeper>();
        services.AddSingleton<EventHub>();
        services.AddSingleton<EventLog>();
        services.AddSingleton<EventStream>();
        services.Configure<EventStreamOptions>(stream =>
        {
            stream.HeartbeatInterval = options.HeartbeatInterval;
            stream.SubscriberBuffer = options.SubscriberBuffer;
        });
        services.AddSingleton<Sessions.SessionStore>();
        services.AddRunningSingleton<SessionManager>();
        services.AddSingleton(new AgentRegistry(Adapters(options)));
        services.AddRunningSingleton<AgentHealthCache>();
        services.AddSingleton<Workspace.WorkspaceRoots>();
        services.AddSingleton<WorkspaceFiles>();
        services.AddSingleton<GitLocations>();
        services.AddSingleton<GitCli>();
        services.AddSingleton<GitWorkspace>();
        services.AddSingleton<WorktreeSnapshots>();
        services.AddSingleton<TurnReviews>();
        services.AddSingleton<Sessions.Running.SessionServices>();
        services.AddSingleton<MessageQueue>();
        services.AddSingleton<Handoff>();
        services.AddSingleton<Sandboxing>();
        services.AddSingleton<Workspace.Worktrees.SessionWorktrees>();
        services.AddRunningSingleton<CommandRunner>();
        services.AddRunningSingleton<FileWatchers>();
        services.AddSingleton<Terminals>();
        services.AddSingleton(provider => new Vapid(options.DataDirectory, VapidContact(options), provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton<NotificationStore>();
        services.AddSingleton<DevicePresence>();
        services.AddSingleton<PushSender>();
        services.AddSingleton<NotificationActions>();
        services.AddRunningSingleton<Notifier>();
        // After the session manager: the backlog starts sessions, and stops (first) before the manager stops them.
        services.AddSingleton<Backlog.BacklogTasks>();
        services.AddSingleton<Backlog.Schedules>();
        services.AddRunningSingleton<Backlog.BacklogRunner>();
        services.AddRunningSingleton<Backlog.Scheduler>();
        services.AddSingleton<TerminalScreens>();
        services.AddSingleton<BridgeStore>();
        services.AddSingleton<BridgeServices>();
        services.AddRunningSingleton<BridgeHost>();
        if (options.Hub is not null)
        {
            services.AddSingleton<HubTransport>();
            services.AddSingleton<Microsoft.AspNetCore.Connections.IConnectionListenerFactory>(provider => provider.GetRequiredService<HubTransport>());
            services.AddRunningSingleton<HubLink>();
        }

        services.AddSingleton(challenges);
        if (options.Acme is not null)
        {
            services.AddRunningSingleton<AcmeRenewal>();
        }

        // The core alone: AddAuthentication would also add DataProtection, whose key ring is loaded (and, on a new data
        // folder, created and written) before the server answers, for nothing: device tokens are our own, hashed in the database.
        services.AddAuthenticationCore(auth => auth.DefaultScheme = DeviceAuthentication.SchemeName);
        services.AddWebEncoders();
        new AuthenticationBuilder(services)
            .AddScheme<AuthenticationSchemeOptions, DeviceAuthentication>(DeviceAuthentication.SchemeName, null);
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(DeviceAuthentication.SchemeName).RequireAuthenticatedUser().Build());
        services.AddProblemResponses();
        services.AddResponseCompression(compression =>
        {
            // JSON answers only (the app's own files are compressed at build time; event streams never are, or they
            // would be buffered). Over https too: no response puts a secret beside text an attacker chose (BREACH).
            compression.EnableForHttps = true;
            compression.MimeTypes = ["application/json", "application/problem+json"];
            compression.Providers.Add<Microsoft.AspNetCore.ResponseCompression.BrotliCompressionProvider>();
            compression.Providers.Add<Microsoft.AspNetCore.ResponseCompression.GzipCompressionProvider>();
        });
        services.Configure<Microsoft.AspNetCore.ResponseCompression.BrotliCompressionProviderOptions>(o => o.Level = System.IO.Compression.CompressionLevel.Fastest);
        services.Configure<Microsoft.AspNetCore.ResponseCompression.GzipCompressionProviderOptions>(o => o.Level = System.IO.Compression.CompressionLevel.Fastest);
        services.AddValidation();
        services.AddApiDocument(options.LiveApiDocument);
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, WireJson.Default);
            json.SerializerOptions.TypeInfoResolverChain.Insert(1, SessionEventJson.Default);
            // A number is a number: "5" for an int is a validation error, and the contract says integer, not integer-or-string.
            json.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        });

        testServices?.Invoke(services);
        var app = builder.Build();
        app.UseProblemResponses();
        app.UseAllowedHosts(options);
        app.UseResponseCompression();
        app.MapWebApp();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseDeviceGuards();

        var api = app.MapGroup("/api");
        api.MapHealth();
        api.MapAuth();
        api.MapProjects();
        api.MapFolders();
        api.MapSessions();
        api.MapProfiles();
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
        api.MapBridges();
        app.MapApiDocument(options.LiveApiDocument);

        // Where phones find this server, for `pocketcoder pair` (which runs as its own process).
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var bound = BoundUrl(app, options);
            new ServerAddress(bound, options.PublicUrl ?? bound).Write(options.DataDirectory);
        });

        // A removed project's shell would be unreachable: close it (the terminal outlives restarts, not its project).
        var terminals = app.Services.GetRequiredService<Terminals>();
        var bridges = app.Services.GetRequiredService<BridgeHost>();
        var mcp = app.Services.GetRequiredService<McpServerStore>();
        app.Services.GetRequiredService<ProjectHooks>().Removed += projectId =>
        {
            _ = Task.Run(() => terminals.CloseQuietlyAsync(projectId));
            // Its MCP servers went with it (the database cascades); their secrets go too.
            mcp.ForgetUnusedSecrets();
            // Its bound chats went with it (the database cascades); the bridges forget them too.
            bridges.ChannelsChanged(null);
        };
        return app;
    }

    /// <summary>A service others call that also runs with the server (started, then stopped in reverse order): one instance for both.</summary>
    private static void AddRunningSingleton<T>(this IServiceCollection services) where T : class, IHostedService
    {
        services.AddSingleton<T>();
        services.AddHostedService(provider => provider.GetRequiredService<T>());
    }

    /// <summary>Push services want a way to reach the sender: the owner's choice, else the public https address.</summary>
    private static string VapidContact(PocketCoderOptions options) =>
        options.PushContact ?? (options.PublicUrl is { } url && url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? url : "mailto:pocketcoder@localhost");

    /// <summary>The address the server's own socket bound (its port filled in), not the hub's.</summary>
    public static string BoundUrl(WebApplication app, PocketCoderOptions options) =>
        app.Urls.FirstOrDefault(url => !url.EndsWith("://" + HubEndPoint.Name, StringComparison.Ordinal)) ?? options.Listen;

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
        ];
        foreach (var (id, create) in builtIn)
        {
            if (options.AgentCommands.TryGetValue(id, out var command))
            {
                yield return create(command);
            }
        }

        // The owner's own ACP agents (agents.json in the data folder); a bad file stops the start with its reason.
        foreach (var agent in AcpAgentsFile.Load(options.DataDirectory, [ClaudeCodeAdapter.AgentId, AcpAgentDefinition.GeminiId, .. options.AgentCommands.Keys]))
        {
            yield return new AcpAdapter(agent);
        }
    }
}
