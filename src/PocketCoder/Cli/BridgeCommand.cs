using System.CommandLine;
using PocketCoder.Bridges;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder bridge add|list|remove</c>: the chat bridges in the data folder's bridges.json (0600). The token is read
/// from standard input, never from the command line (where shell history and the process list would keep it). A running
/// server picks the change up within seconds. See docs/bridges.md.
/// </summary>
internal sealed class BridgeCommand() : VerbGroup("bridge", "Steer from a chat app: Telegram and Slack bots. See docs/bridges.md.",
    new AddBridge(), new ListBridges(), new RemoveBridge())
{
    private sealed class AddBridge : Verb
    {
        private readonly Argument<string> _platform =
            new Argument<string>("platform") { Description = "The chat platform: telegram or slack." }.AcceptOnlyFromAmong([.. BridgesFile.Platforms.Keys]);
        private readonly Option<string> _name = new("--name") { Description = "What to call it (default: the platform's name)." };
        private readonly Option<string> _apiBase = new("--api-base") { Description = "The platform's API address, if not its public one (a proxy, a test server)." };
        private readonly Option<string> _tokenFile = new("--token-file")
        {
            Description = "Read the token (Slack: the bot token, then the app-level token, one a line) from this file instead of standard input.",
        };

        public AddBridge() : base("add", "Add (or replace) a bridge; its bot token is read from standard input, never from the command line.") =>
            Declare(_name, _apiBase, _tokenFile, _platform);

        protected override Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            var data = DataDirectory(parsed);
            var bridges = Load(data);
            var platform = parsed.GetValue(_platform)!;
            var id = parsed.GetValue(_name) ?? platform;
            // Slack has two: the bot token, then the app-level token; Feishu the App ID, then the App Secret; one a line.
            var prompts = Prompts(platform);
            var secrets = parsed.GetValue(_tokenFile) is { } tokenFile ? ReadTokenFile(tokenFile, prompts.Length) : [.. prompts.Select(prompt => (ReadSecret(output, prompt) ?? "").Trim())];
            var apiBase = parsed.GetValue(_apiBase);
            var feishu = platform == BridgesFile.FeishuPlatformName;
            var (secret, appSecret, appId) = prompts.Length == 1 ? (secrets[0], null, null)
                : feishu ? (secrets[1], null, secrets[0]) : (secrets[0], secrets[1], (string?)null);
            if (BridgesFile.Check(id, platform, secret, apiBase, appSecret, appId) is { } problem)
            {
                throw new CliException(problem);
            }

            var definition = new BridgeDefinition(id, platform, secret, apiBase is null ? BridgesFile.Platforms[platform] : new Uri(apiBase), appSecret, appId);
            var replaced = bridges.Any(b => b.Id == id);
            BridgesFile.Save(data, [.. bridges.Where(b => b.Id != id), definition]);
            output.WriteLine($"""
                {(replaced ? "Replaced" : "Added")} bridge '{id}' ({platform}). A running server starts it within seconds.
                Next: run `{SelfCommand.Pair(data)}`, and send the bot `/pair CODE` in a direct message to link yourself;
                then add the bot to a group and send `/bind PROJECT` there.
                """);
            return Task.FromResult(0);
        }
    }

    private sealed class ListBridges() : Verb("list", "List the bridges (never their tokens).")
    {
        protected override Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            var bridges = Load(DataDirectory(parsed));
            if (bridges.Count == 0)
            {
                output.WriteLine("No bridges. Add one with `pocketcoder bridge add telegram` (the bot token on standard input).");
            }

            foreach (var bridge in bridges)
            {
                output.WriteLine($"{bridge.Id}\t{bridge.Platform}\t{bridge.ApiBase}");
            }

            return Task.FromResult(0);
        }
    }

    private sealed class RemoveBridge : Verb
    {
        private readonly Argument<string> _name = new("name") { Description = "The bridge's name." };

        public RemoveBridge() : base("remove", "Remove a bridge (its linked people stay devices until revoked).") => Declare(_name);

        protected override Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
        {
            var data = DataDirectory(parsed);
            var name = parsed.GetValue(_name)!;
            var bridges = Load(data);
            if (bridges.All(b => b.Id != name))
            {
                throw new CliException($"No bridge is called '{name}'.");
            }

            BridgesFile.Save(data, [.. bridges.Where(b => b.Id != name)]);
            output.WriteLine($"Removed bridge '{name}'. Its linked people stay devices until you revoke them.");
            return Task.FromResult(0);
        }
    }

    private static List<BridgeDefinition> Load(string data) => Verb.Usable(() => BridgesFile.Load(data).ToList());

    private static string[] ReadTokenFile(string path, int count)
    {
        try
        {
            var lines = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
            return lines.Length == count ? lines : throw new CliException($"{path} must hold {count} token(s), one a line.");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"Cannot read the token from {path}: {exception.Message}");
        }
    }

    /// <summary>What the platform's set-up asks for, in the order it is read (one a line from a token file).</summary>
    private static string[] Prompts(string platform) => platform switch
    {
        BridgesFile.SlackPlatformName => ["The bot token (xoxb-…)", "The app-level token (xapp-…)"],
        BridgesFile.FeishuPlatformName => ["The App ID (cli_…)", "The App Secret"],
        _ => ["The bot's token"],
    };
}
