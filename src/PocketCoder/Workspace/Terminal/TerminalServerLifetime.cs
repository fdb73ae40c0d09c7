using PocketCoder.Errors;

namespace PocketCoder.Workspace.Terminal;

/// <summary>
/// The project shells' tmux server lives exactly as long as `serve`: a graceful stop ends it, and a start ends one a
/// crashed server left behind. Only PocketCoder's own server is touched (its private socket, <see cref="Terminals.SocketPath"/>),
/// never the owner's own tmux. A shell left running after `serve` stops would keep the owner's login shell, its jobs and
/// whatever it was typed into alive with no PocketCoder to reach, stop or ledger it.
/// </summary>
public sealed class TerminalServerLifetime(Terminals terminals, ILogger<TerminalServerLifetime> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => EndAsync("left by a server that did not stop cleanly", cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => EndAsync("as the server stops", cancellationToken);

    private async Task EndAsync(string why, CancellationToken cancellationToken)
    {
        try
        {
            if (await terminals.EndServerAsync(cancellationToken))
            {
                logger.LogInformation("Ended the terminals' tmux server on {Socket}, {Why}", terminals.SocketPath, why);
            }
        }
        catch (ApiProblem problem)
        {
            // tmux missing or not answering: there is no server of ours to end, or nothing more this process can do to it.
            logger.LogWarning("Could not end the terminals' tmux server on {Socket}: {Detail}", terminals.SocketPath, problem.Message);
        }
    }
}
