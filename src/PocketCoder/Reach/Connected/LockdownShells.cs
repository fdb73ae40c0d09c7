using PocketCoder.Auth;
using PocketCoder.Workspace.Commands;
using PocketCoder.Workspace.Terminal;

namespace PocketCoder.Reach.Connected;

/// <summary>What shells ended in a lockdown.</summary>
public sealed record ShellsEnded(bool Terminals, int Commands);

/// <summary>
/// The shells a lockdown ends: every project terminal (this data folder's tmux server, and each shell in it) and every
/// running command. A shell a phone opened before the lockdown runs as the owner's user and can read the data folder (the
/// terminal's token in it too), so leaving it would leave the remote person a way back in (an attacker review of #68).
/// </summary>
public sealed class LockdownShells(Terminals terminals, CommandRunner commands)
{
    public async Task<ShellsEnded> EndAllAsync(Actor actor, CancellationToken cancellationToken) =>
        new(await terminals.EndServerAsync(cancellationToken), await commands.CancelAllAsync(actor, cancellationToken));
}
