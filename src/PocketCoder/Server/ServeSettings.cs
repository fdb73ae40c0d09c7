using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using PocketCoder.Agents.Acp;
using PocketCoder.Agents.Claude;
using PocketCoder.Agents.Codex;
using PocketCoder.Agents.OpenCode;
using PocketCoder.Reach;

namespace PocketCoder.Server;

/// <summary>
/// What <c>pocketcoder serve</c> can be told, from three sources, later ones winning: <c>pocketcoder.json</c> in the data
/// folder, <c>POCKETCODER_*</c> environment variables, and command-line flags (<see cref="Sources"/> names all three for
/// every setting). Bound by the configuration binder and validated with data annotations before the server is built, so
/// a bad value stops start-up naming every problem and where it came from. Nothing else reads these variables.
/// </summary>
public sealed class ServeSettings
{
    public const string FileName = "pocketcoder.json";

    [ServerUrl]
    public string Listen { get; set; } = PocketCoderOptions.DefaultListen;

    /// <summary>The address phones open when it is not <see cref="Listen"/>: a reverse proxy, Tailscale, a LAN name.</summary>
    [ServerUrl]
    public string? PublicUrl { get; set; }

    /// <summary>The ACME directory (an https URL) for the hub name's certificate when no Cert/Key are given (default Let's Encrypt).</summary>
    public string? Acme { get; set; }

    /// <summary>A CA certificate (PEM file) to trust for the ACME server's own https, for a private ACME server.</summary>
    public string? AcmeCa { get; set; }

    /// <summary>PEM certificate (then intermediates) for an https:// <see cref="Listen"/>.</summary>
    public string? Cert { get; set; }

    /// <summary>PEM private key of <see cref="Cert"/>.</summary>
    public string? Key { get; set; }

    /// <summary>0: never suspend. (The generated validator words range errors itself: "must be between 0 and 10080".)</summary>
    [Range(0, 7 * 24 * 60)]
    public int SuspendIdleMinutes { get; set; } = 15;

    /// <summary>0: never report a stall.</summary>
    [Range(0, 24 * 60 * 60)]
    public int StallSeconds { get; set; } = 180;

    /// <summary>0: never pause an agent that waits for the owner.</summary>
    [Range(0, 24 * 60 * 60)]
    public int PauseWaitingSeconds { get; set; } = 300;

    /// <summary>0: never start a paused agent ahead of the decision when someone who may decide opens its session.</summary>
    [Range(0, 60 * 60)]
    public int WarmPausedSeconds { get; set; } = 60;

    /// <summary>The preview origin's port on the listen address; 0: a free one at each start.</summary>
    [Range(0, 65535)]
    public int PreviewPort { get; set; }

    /// <summary>Null: derived from the machine's memory.</summary>
    [Range(1, 1000)]
    public int? MaxAgents { get; set; }

    /// <summary>Host names to answer to besides loopback and IP literals, comma-separated (DNS rebinding guard).</summary>
    public string? AllowedHosts { get; set; }

    /// <summary>Names the sandbox's proxy resolves as given (<c>NAME=ADDRESS,…</c>): see <see cref="PocketCoderOptions.NetworkHosts"/>.</summary>
    public string? NetworkHosts { get; set; }

    public bool LedgerTerminalText { get; set; }

    /// <summary>Seconds a question may go unseen on a device that had the app open before it is pushed there anyway.</summary>
    [Range(1, 3600)]
    public int NotifyEscalateSeconds { get; set; } = 30;

    /// <summary>Hosts notifications may reach at any address (comma-separated): see <see cref="PocketCoderOptions.PushHosts"/>.</summary>
    public string? PushHosts { get; set; }

    /// <summary>Who push services may contact about this server's notifications: a mailto: or https: URL (VAPID's <c>sub</c>).</summary>
    [RegularExpression("^(mailto:[^\\s@]+@[^\\s@]+|https://\\S+)$", ErrorMessage = "PushContact must be a mailto: address or an https:// URL.")]
    public string? PushContact { get; set; }

    [ModelName]
    public string GeminiModel { get; set; } = "gemini-2.5-flash";

    [Required(AllowEmptyStrings = false)]
    public string ClaudePath { get; set; } = "claude";

    [Required(AllowEmptyStrings = false)]
    public string CodexPath { get; set; } = "codex";

    [Required(AllowEmptyStrings = false)]
    public string OpenCodePath { get; set; } = "opencode";

    [Required(AllowEmptyStrings = false)]
    public string GeminiPath { get; set; } = "gemini";

    [Required(AllowEmptyStrings = false)]
    public string CopilotPath { get; set; } = "copilot";

    [Required(AllowEmptyStrings = false)]
    public string QwenPath { get; set; } = "qwen";

    [Required(AllowEmptyStrings = false)]
    public string PiPath { get; set; } = "pi";

    [Required(AllowEmptyStrings = false)]
    public string KiloPath { get; set; } = "kilo";

    /// <summary>Every setting: its key (the property, and the key in <c>pocketcoder.json</c>), variable, and flag with its help.</summary>
    public static readonly IReadOnlyList<(string Key, string Variable, string? Flag, string? Help)> Sources =
    [
        (nameof(Listen), "POCKETCODER_LISTEN", "listen", "Where to listen (default http://127.0.0.1:7420); https:// needs --cert/--key or --acme."),
        (nameof(PublicUrl), "POCKETCODER_PUBLIC_URL", "public-url", "The address phones open, if not --listen (a proxy, Tailscale, a LAN name)."),
        (nameof(PreviewPort), "POCKETCODER_PREVIEW_PORT", "preview-port", "Port of the preview origin (servers a session started, seen on the phone), on --listen's address (default: a free one)."),
        (nameof(Cert), "POCKETCODER_CERT", "cert", "Certificate (PEM) for an https:// --listen (reloaded when renewed)."),
        (nameof(Key), "POCKETCODER_KEY", "key", "Its private key (PEM)."),
        (nameof(Acme), "POCKETCODER_ACME", "acme", "Get the certificate from this ACME directory (TLS-ALPN-01), for the hub name or the https --public-url name."),
        (nameof(AcmeCa), "POCKETCODER_ACME_CA", "acme-ca", "A PEM file to trust for a private ACME server."),
        (nameof(SuspendIdleMinutes), "POCKETCODER_SUSPEND_IDLE_MINUTES", "suspend-idle-minutes", "Stop idle agent processes after N minutes (default 15, 0: never)."),
        (nameof(StallSeconds), "POCKETCODER_STALL_SECONDS", "stall-seconds", "Report a turn with no word from the agent after N s (default 180, 0: never)."),
        (nameof(PauseWaitingSeconds), "POCKETCODER_PAUSE_WAITING_SECONDS", "pause-waiting-seconds", null),
        (nameof(WarmPausedSeconds), "POCKETCODER_WARM_PAUSED_SECONDS", "warm-paused-seconds", null),
        (nameof(MaxAgents), "POCKETCODER_MAX_AGENTS", "max-agents", "Agent processes running at once; more sessions wait in line (default: from memory)."),
        (nameof(AllowedHosts), "POCKETCODER_ALLOWED_HOSTS", "allowed-host", "Host names to answer to besides loopback and IP literals (comma-separated)."),
        (nameof(NetworkHosts), "POCKETCODER_NETWORK_HOSTS", "network-host", "Names the sandboxes' proxy connects to at the address given (NAME=ADDRESS, comma-separated; even a loopback one)."),
        (nameof(LedgerTerminalText), "POCKETCODER_LEDGER_TERMINAL_TEXT", "ledger-terminal-text", "Keep the text typed into terminals in the ledger."),
        (nameof(NotifyEscalateSeconds), "POCKETCODER_NOTIFY_ESCALATE_SECONDS", "notify-escalate-seconds", "Notify the looking device too when an approval waits this long (default 30)."),
        (nameof(PushHosts), "POCKETCODER_PUSH_HOSTS", "push-host", "Hosts push notifications may reach on this machine's network or loopback (a push service or PocketCoder of your own; comma-separated)."),
        (nameof(PushContact), "POCKETCODER_PUSH_CONTACT", "push-contact", "The mailto: or https: contact sent to push services (VAPID)."),
        (nameof(GeminiModel), "POCKETCODER_GEMINI_MODEL", null, null),
        (nameof(ClaudePath), "POCKETCODER_CLAUDE_PATH", null, null),
        (nameof(CodexPath), "POCKETCODER_CODEX_PATH", null, null),
        (nameof(OpenCodePath), "POCKETCODER_OPENCODE_PATH", null, null),
        (nameof(GeminiPath), "POCKETCODER_GEMINI_PATH", null, null),
        (nameof(CopilotPath), "POCKETCODER_COPILOT_PATH", null, null),
        (nameof(QwenPath), "POCKETCODER_QWEN_PATH", null, null),
        (nameof(PiPath), "POCKETCODER_PI_PATH", null, null),
        (nameof(KiloPath), "POCKETCODER_KILO_PATH", null, null),
    ];

    /// <summary>The settings a command-line flag can give: the flag's name and its help (the name, when it has none).</summary>
    public static IEnumerable<(string Name, string Help)> Flags() => Sources.Where(s => s.Flag is not null).Select(s => (s.Flag!, s.Help ?? s.Flag!));

    /// <param name="flags">Flag name to value (<c>"true"</c> for a switch), as given on the command line.</param>
    /// <exception cref="InvalidDataException">A value that does not bind or validate; the message lists every one.</exception>
    public static ServeSettings Load(string dataDirectory, IReadOnlyDictionary<string, string?> flags, IDictionary environment)
    {
        var file = Path.Combine(dataDirectory, FileName);
        var sources = $" Settings come from {file}, POCKETCODER_* variables and flags (`pocketcoder help`).";
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(file, optional: true, reloadOnChange: false)
            .AddInMemoryCollection(Sources
                .Where(s => environment[s.Variable] is string { Length: > 0 })
                .Select(s => KeyValuePair.Create(s.Key, (string?)environment[s.Variable])))
            .AddInMemoryCollection(Sources
                .Where(s => s.Flag is not null && flags.ContainsKey(s.Flag))
                .Select(s => KeyValuePair.Create(s.Key, flags[s.Flag!])))
            .Build();

        ServeSettings settings;
        try
        {
            // A key nobody reads is a typo that would silently keep the default.
            settings = configuration.Get<ServeSettings>(binder => binder.ErrorOnUnknownConfiguration = true) ?? new ServeSettings();
        }
        catch (InvalidOperationException exception)
        {
            throw new InvalidDataException(exception.Message + sources);
        }

        var problems = new ServeSettingsValidator().Validate(null, settings) is { Failed: true } invalid ? invalid.Failures.ToList() : [];
        problems.AddRange(settings.TlsProblems(joinedHub: File.Exists(Reach.Hub.HubMembership.PathIn(dataDirectory))));
        if (problems.Count > 0)
        {
            throw new InvalidDataException(string.Join(" ", problems) + sources);
        }

        return settings;
    }

    /// <summary>The server's options from these settings.</summary>
    /// <param name="tls">False: no certificate is read or made, and no ACME is set up. Only for <c>doctor</c>, which reports
    /// why the certificate cannot be used and still needs the rest to check the agents with.</param>
    /// <exception cref="InvalidDataException">The certificate files (or the ACME CA file) cannot be used: one line naming the setting.</exception>
    public PocketCoderOptions ToOptions(string dataDirectory, bool tls = true)
    {
        var hub = Reach.Hub.HubMembership.Load(dataDirectory);
        // Without a certificate of its own, a machine on a hub (or one told --acme) gets one from ACME: for the name the
        // hub gave it, else for its public URL's name.
        // On a hub its preview origin's name too, with a certificate of its own (docs/reach.md, "Previews").
        var acme = tls && Cert is null && (hub is not null || Acme is not null)
            ? new Reach.Acme.AcmeSettings(new Uri(Acme ?? Reach.Acme.AcmeSettings.LetsEncrypt), ReadCa(AcmeCa), new Uri(hub?.PublicUrl ?? PublicUrl!).Host,
                hub is null ? null : PocketCoder.Hub.HubProtocol.PreviewHost(new Uri(hub.PublicUrl).Host))
            : null;
        return new()
        {
            DataDirectory = dataDirectory,
            Listen = Listen,
            // Joined to a hub, phones use the name the hub gave this machine unless the owner names another.
            PublicUrl = PublicUrl ?? hub?.PublicUrl,
            PreviewPort = PreviewPort,
            Hub = hub,
            Certificate = !tls ? null
                : Cert is not null && Key is not null ? OwnCertificate(Cert, Key)
                : acme is not null ? Reach.Acme.AcmeRenewal.Prepare(dataDirectory, acme.Name, TimeProvider.System)
                : null,
            PreviewCertificate = acme?.PreviewName is { } previewName
                ? Reach.Acme.AcmeRenewal.Prepare(dataDirectory, previewName, TimeProvider.System, Reach.Acme.AcmeRenewal.PreviewFolder(dataDirectory))
                : null,
            Acme = acme,
            SuspendIdleAfter = TimeSpan.FromMinutes(SuspendIdleMinutes),
            StallAfter = TimeSpan.FromSeconds(StallSeconds),
            PauseWaitingAfter = TimeSpan.FromSeconds(PauseWaitingSeconds),
            WarmPausedFor = TimeSpan.FromSeconds(WarmPausedSeconds),
            MaxRunningAgents = MaxAgents,
            AllowedHosts = [.. (AllowedHosts ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
            NetworkHosts = PocketCoderOptions.ParseNetworkHosts(NetworkHosts),
            LedgerTerminalText = LedgerTerminalText,
            NotifyEscalateAfter = TimeSpan.FromSeconds(NotifyEscalateSeconds),
            PushHosts = [.. (PushHosts ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Notifications.OutboundRules.Entry)],
            PushContact = PushContact,
            GeminiDefaultModel = GeminiModel,
            AgentCommands = PocketCoderOptions.AgentCommandsAt(new Dictionary<string, string>(PocketCoderOptions.DefaultExecutables, StringComparer.Ordinal)
            {
                [ClaudeCodeAdapter.AgentId] = ClaudePath,
                [CodexAdapter.AgentId] = CodexPath,
                [OpenCodeAdapter.AgentId] = OpenCodePath,
                [AcpAgentDefinition.GeminiId] = GeminiPath,
                [AcpAgentDefinition.CopilotId] = CopilotPath,
                [AcpAgentDefinition.QwenId] = QwenPath,
                [Agents.Pi.PiAdapter.AgentId] = PiPath,
                [OpenCodeFlavor.KiloId] = KiloPath,
            }),
        };
    }

    /// <summary>https:// needs a certificate and its key; a hub takes one or gets it from ACME; nothing else uses them.</summary>
    private IEnumerable<string> TlsProblems(bool joinedHub)
    {
        var https = Listen.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        var acmeDirect = Acme is not null && !joinedHub && Cert is null && Key is null;
        if (https && (Cert is null || Key is null) && !acmeDirect)
        {
            yield return "Listen is https://, so Cert and Key (--cert, --key: PEM files) are needed, or Acme (--acme) to get them.";
        }
        else if (!https && !joinedHub && (Cert is not null || Key is not null))
        {
            yield return "Cert and Key are used only with an https:// Listen address or a hub.";
        }
        else if ((Cert is null) != (Key is null))
        {
            yield return "Cert and Key go together (--cert, --key: PEM files).";
        }

        if (Acme is not null && !(Uri.TryCreate(Acme, UriKind.Absolute, out var directory) && directory.Scheme == Uri.UriSchemeHttps))
        {
            yield return $"Acme must be the https:// URL of an ACME directory; got '{Acme}'.";
        }
        else if (acmeDirect && (!https || PublicUrl is null || !PublicUrl.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            || Uri.CheckHostName(new Uri(PublicUrl).Host) != UriHostNameType.Dns))
        {
            yield return "Acme without a hub needs an https:// Listen and an https:// PublicUrl naming this machine (the name to certify; " +
                "the ACME server connects to it on port 443).";
        }
    }

    private static TlsCertificate OwnCertificate(string certificate, string key)
    {
        try
        {
            return TlsCertificate.Load(certificate, key, TimeProvider.System);
        }
        catch (InvalidDataException exception)
        {
            throw new InvalidDataException($"Cert and Key (--cert, --key): {exception.Message}");
        }
    }

    private static string? ReadCa(string? path)
    {
        try
        {
            return path is null ? null : File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"AcmeCa (--acme-ca) cannot be read: {exception.Message}");
        }
    }

    /// <summary>
    /// Where a server is reached: an absolute http:// or https:// URL with nothing after the host and port (no path, query,
    /// fragment or user name), since the app, its API and its cookies live at the root.
    /// </summary>
    internal sealed class ServerUrlAttribute : ValidationAttribute
    {
        protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
            value is null || (value is string text && Uri.TryCreate(text, UriKind.Absolute, out var uri)
                && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
                && uri.AbsolutePath == "/" && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0
                && !text.Contains('?') && !text.Contains('#'))
                ? ValidationResult.Success
                : new ValidationResult(
                    $"{validationContext.MemberName} must be an http:// or https:// URL with no path, such as {PocketCoderOptions.DefaultListen}; got '{value}'.");
    }
}

/// <summary>A model name such as gemini-2.5-flash: it goes on the agent's command line, so it never starts with a dash.</summary>
internal sealed partial class ModelNameAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        value is string text && Pattern().IsMatch(text)
            ? ValidationResult.Success
            : new ValidationResult($"{validationContext.MemberName} is a model name such as gemini-2.5-flash; got '{value}'.");

    // Generated at build time: a [RegularExpression] parses its pattern at every start.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")]
    private static partial Regex Pattern();
}

/// <summary>
/// The data annotations above, checked by generated code: <c>Validator.TryValidateObject</c> discovers them through
/// reflection and TypeDescriptor, which cost ~25 ms of every start.
/// </summary>
[OptionsValidator]
internal sealed partial class ServeSettingsValidator : IValidateOptions<ServeSettings>;
