using System.CommandLine;
using PocketCoder.Data;
using PocketCoder.Server;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder lockdown</c>: every remote device and stream cut at once, pairing stopped (docs/security.md, "Reach you can see
/// and cut"); this terminal goes on. <c>--lift</c> lifts it, here only: it writes the data folder itself, which no request can.
/// </summary>
internal sealed class LockdownCommand : ServerVerb
{
    private readonly Option<bool> _lift = new("--lift") { Description = "Lift the lockdown so devices may pair again (on this machine only)." };

    public LockdownCommand()
        : base("lockdown", "Cut every remote device, watch link and chat identity at once and stop pairing (--lift, here, to end it).") =>
        Declare(_lift);

    protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
    {
        if (parsed.GetValue(_lift))
        {
            using var database = new Database(DataDirectory(parsed));
            database.Migrate();
            var lifted = Reach.Connected.Lockdown.Lift(database, new Ledger.LedgerStore(database, TimeProvider.System), $"terminal on {Environment.MachineName}");
            await output.WriteLineAsync(lifted
                ? $"Lockdown lifted: devices may pair again (`{SelfCommand.For("pair")}`)."
                : "This machine was not locked down.");
            return 0;
        }

        // As a new terminal device: the lockdown keeps only the caller, so the old terminal token, and any copy of it, goes too.
        using var http = ConnectAfresh(parsed);
        HttpResponseMessage sent;
        try
        {
            sent = await http.PostAsync("/api/lockdown", null);
        }
        catch (HttpRequestException exception) when (exception.HttpRequestError == HttpRequestError.ConnectionError)
        {
            // Nothing listens: lock the data folder itself, so that the next serve starts locked (a stolen phone's token is
            // dead before the server is back). Only "nothing listens": a server that answers wrongly may be running on it.
            return await OfflineAsync(parsed, http.BaseAddress!, output);
        }

        if (await ServerClient.SendAsync(http, () => Task.FromResult(sent), error) is not { } response)
        {
            return 1;
        }

        var done = await response.Content.ReadFromJsonAsync(WireJson.Default.LockdownResponse);
        await output.WriteLineAsync(
            $"Locked down: {done!.DevicesRevoked} device(s) revoked, {done.WatchLinksEnded} watch link(s) ended, {done.PairingCodesVoided} pairing " +
            $"code(s) voided, {(done.TerminalsEnded ? "every terminal ended" : "no terminal open")}, {done.CommandsStopped} command(s) stopped; " +
            $"every stream but this terminal's is cut and nothing pairs until `{SelfCommand.For("lockdown --lift")}` here.");
        return 0;
    }

    private async Task<int> OfflineAsync(ParseResult parsed, Uri address, TextWriter output)
    {
        var data = DataDirectory(parsed);
        using var database = new Database(data);
        database.Migrate();
        var terminals = await EndTerminalsAsync(Workspace.Terminal.Terminals.SocketFor(data));
        var (devices, links, codes) = Reach.Connected.Lockdown.EngageOffline(database, new Ledger.LedgerStore(database, TimeProvider.System),
            $"terminal on {Environment.MachineName}", TimeProvider.System);
        await output.WriteLineAsync(
            $"PocketCoder is not running at {address}: locked down in its data folder instead. {devices} device(s) revoked, {links} watch " +
            $"link(s) ended, {codes} pairing code(s) voided{(terminals ? ", the terminals a crashed server left ended" : "")}; serve will start locked, and nothing pairs until `{SelfCommand.For("lockdown --lift")}` here.");
        return 0;
    }

    /// <summary>Ends the terminals' tmux server where a server that did not stop cleanly left it running; false when there was none.</summary>
    private static async Task<bool> EndTerminalsAsync(string socket)
    {
        if (!File.Exists(socket))
        {
            return false;
        }

        try
        {
            var spec = new Agents.Processes.ProcessSpec("tmux", ["-S", socket, "kill-server"], Path.GetDirectoryName(socket)!,
                new Dictionary<string, string?>(), StderrLogPath: null);
            var result = await Agents.Processes.ChildProcess.RunAsync(spec, 64 * 1024, TimeSpan.FromSeconds(10), CancellationToken.None);
            return result.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No tmux here: no terminal of ours can be running either.
            return false;
        }
    }
}
