using PocketCoder.Bridges;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder bridge add|list|remove</c>: the chat bridges in the data folder's bridges.json (0600). The token is read
/// from standard input, never from the command line (where shell history and the process list would keep it). A running
/// server picks the change up within seconds. See docs/bridges.md.
/// </summary>
public static class BridgeCommand
{
    public static Task<int> RunAsync(CliArguments arguments, TextWriter output, TextWriter error)
    {
        var data = CommandLine.DataDirectory(arguments);
        var bridges = Load(data);
        switch (arguments.Positional)
        {
            case ["add", var platform]:
                var id = arguments.Value("name") ?? platform;
                // Slack has two: the bot token, then the app-level token; one a line.
                var count = platform == BridgesFile.SlackPlatformName ? 2 : 1;
                var secrets = arguments.Value("token-file") is { } tokenFile ? ReadTokenFile(tokenFile, count) : ReadSecrets(output, count);
                var apiBase = arguments.Value("api-base");
                var appSecret = count == 2 ? secrets[1] : null;
                if (BridgesFile.Check(id, platform, secrets[0], apiBase, appSecret) is { } problem)
                {
                    throw new CliException(problem);
                }

                var definition = new BridgeDefinition(id, platform, secrets[0], apiBase is null ? BridgesFile.Platforms[platform] : new Uri(apiBase), appSecret);
                var replaced = bridges.Any(b => b.Id == id);
                BridgesFile.Save(data, [.. bridges.Where(b => b.Id != id), definition]);
                output.WriteLine($"""
                    {(replaced ? "Replaced" : "Added")} bridge '{id}' ({platform}). A running server starts it within seconds.
                    Next: run `pocketcoder pair`, and send the bot `/pair CODE` in a direct message to link yourself;
                    then add the bot to a group and send `/bind PROJECT` there.
                    """);
                return Task.FromResult(0);
            case ["list"]:
                if (bridges.Count == 0)
                {
                    output.WriteLine("No bridges. Add one with `pocketcoder bridge add telegram` (the bot token on standard input).");
                }

                foreach (var bridge in bridges)
                {
                    output.WriteLine($"{bridge.Id}\t{bridge.Platform}\t{bridge.ApiBase}");
                }

                return Task.FromResult(0);
            case ["remove", var name]:
                if (bridges.All(b => b.Id != name))
                {
                    throw new CliException($"No bridge is called '{name}'.");
                }

                BridgesFile.Save(data, [.. bridges.Where(b => b.Id != name)]);
                output.WriteLine($"Removed bridge '{name}'. Its linked people stay devices until you revoke them.");
                return Task.FromResult(0);
            default:
                throw new CliException("Use add PLATFORM, list or remove NAME.");
        }
    }

    private static List<BridgeDefinition> Load(string data)
    {
        try
        {
            return [.. BridgesFile.Load(data)];
        }
        catch (InvalidDataException exception)
        {
            throw new CliException(exception.Message);
        }
    }

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

    private static string[] ReadSecrets(TextWriter output, int count) =>
        [.. Enumerable.Range(0, count).Select(i => ReadSecret(output, count == 1 ? "The bot's token" : i == 0 ? "The bot token (xoxb-…)" : "The app-level token (xapp-…)"))];

    private static string ReadSecret(TextWriter output, string prompt)
    {
        if (!Console.IsInputRedirected)
        {
            output.Write($"{prompt} (not shown): ");
            var typed = new System.Text.StringBuilder();
            while (Console.ReadKey(intercept: true) is var key && key.Key != ConsoleKey.Enter)
            {
                if (key.Key == ConsoleKey.Backspace && typed.Length > 0)
                {
                    typed.Length--;
                }
                else if (!char.IsControl(key.KeyChar))
                {
                    typed.Append(key.KeyChar);
                }
            }

            output.WriteLine();
            return typed.ToString().Trim();
        }

        return (Console.In.ReadLine() ?? "").Trim();
    }
}
