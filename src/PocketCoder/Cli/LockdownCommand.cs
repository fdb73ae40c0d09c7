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
        if (await ServerClient.SendAsync(http, () => http.PostAsync("/api/lockdown", null), error) is not { } response)
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
}
