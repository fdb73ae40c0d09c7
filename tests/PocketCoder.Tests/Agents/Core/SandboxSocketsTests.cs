using System.Net.Sockets;
using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>
/// A unix socket bound before the session is out of reach wherever the sandbox sees it (docs/security.md, "The network"): which
/// paths those are is read from the sandbox's own mounts, not from where the socket lies. An owner's home below <c>/tmp</c> is
/// bound back over the private <c>/tmp</c>, and so is a project there: a socket in either was reachable while "/tmp is private"
/// was the rule.
/// </summary>
public sealed class SandboxSocketsTests
{
    [Fact]
    public async Task SocketsBoundBeforeTheSession_InAHomeAndAProjectUnderTmp_AreOutOfReachInside()
    {
        var bwrap = AgentSandbox.FindBwrap();
        Assert.True(bwrap is not null, "bubblewrap is missing: scripts/test.sh installs it.");
        var project = TempPaths.NewDirectory("pc-sandbox");
        var home = TempPaths.NewDirectory("pc-home");
        List<Socket> listening = [];
        try
        {
            string[] sockets = [Path.Combine(home, "agent.sock"), Path.Combine(project, "dev.sock")];
            foreach (var path in sockets)
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                socket.Bind(new UnixDomainSocketEndPoint(path));
                socket.Listen();
                listening.Add(socket);
            }

            var sandbox = new AgentSandbox(bwrap, [project], [], [], Path.Combine(project, "agent-home"));
            // Each connect's outcome, one line per socket: "reached" only where connect() got through.
            const string Probe = "import socket,sys\nfor p in sys.argv[1:]:\n    s=socket.socket(socket.AF_UNIX)\n    try:\n        s.connect(p); print('reached', p)\n    except OSError as e:\n        print('refused', p, e.errno)\n";
            var spec = sandbox.Wrap(new ProcessSpec("/usr/bin/python3", ["-c", Probe, .. sockets], project,
                new Dictionary<string, string?> { ["HOME"] = home }, null), AgentState.Of([]));
            var lines = new List<string>();
            await using var child = ChildProcess.Start(spec, line =>
            {
                lock (lines)
                {
                    lines.Add(line);
                }

                return Task.CompletedTask;
            });
            await child.Exited.WaitAsync(TimeSpan.FromSeconds(60));

            var said = string.Join(" | ", lines);
            Assert.True(lines.Count == sockets.Length, $"the probe did not report on each socket: {said}");
            Assert.DoesNotContain("reached", said, StringComparison.Ordinal);
        }
        finally
        {
            listening.ForEach(socket => socket.Dispose());
            TempPaths.Delete(project);
            TempPaths.Delete(home);
        }
    }
}
