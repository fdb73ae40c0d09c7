using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace PocketCoder.Agents.Processes.Network;

/// <summary>
/// Whether this machine can give a sandbox its network as agents get it: a network namespace of its own, the helper (this
/// executable) starting inside, and its listener handed out through a door. Tried once, end to end, with the sandbox's own
/// flags: where any part fails, sandboxed sessions do not start (fail closed), and health and <c>doctor</c> say why.
/// </summary>
public static class NetworkProbe
{
    /// <summary>Why a sandbox's network cannot be set up with <paramref name="bwrap"/>, as a sentence; null when it can.</summary>
    public static string? Problem(string bwrap)
    {
        if (NetworkHelper.Command is not { } helper)
        {
            return "PocketCoder cannot find its own executable to run as the sandbox's network helper.";
        }

        var folder = Directory.CreateTempSubdirectory("pocketcoder-probe-");
        try
        {
            var door = Path.Combine(folder.FullName, "door.sock");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(door));
            listener.Listen(1);
            var layout = new EgressLayout([]);
            List<string> arguments = [.. AgentSandbox.Isolation, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/run"];
            foreach (var path in NetworkHelper.Needs().Where(p => p.StartsWith("/tmp/", StringComparison.Ordinal) && (File.Exists(p) || Directory.Exists(p))).Distinct())
            {
                arguments.AddRange(["--ro-bind", path, path]);
            }

            arguments.AddRange(["--bind", door, EgressLayout.InsideDoor, "--", .. SandboxNetworkEntry.Arguments(helper, layout), "true"]);
            return Run(bwrap, arguments, listener);
        }
        catch (Exception exception) when (exception is SocketException or IOException or System.ComponentModel.Win32Exception)
        {
            return $"the sandbox's network could not be tried ({exception.Message}).";
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static string? Run(string bwrap, IReadOnlyList<string> arguments, Socket listener)
    {
        var info = new ProcessStartInfo(bwrap, arguments) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        var taken = Task.Run(() => Take(listener));
        if (!process.WaitForExit(TimeSpan.FromSeconds(20)))
        {
            process.Kill(entireProcessTree: true);
            listener.Dispose();
            return "a sandbox with its own network did not start within 20 s.";
        }

        listener.Dispose();
        var handedOut = taken.Wait(TimeSpan.FromSeconds(5)) && taken.Result;
        return process.ExitCode == 0 && handedOut ? null
            : $"a sandbox with its own network cannot be made here ({(error.Wait(TimeSpan.FromSeconds(5)) ? error.Result.Trim() : "")}).";
    }

    /// <summary>Takes the helper's listener as the server's door does, and lets it go on.</summary>
    private static bool Take(Socket listener)
    {
        try
        {
            using var helper = listener.Accept();
            var buffer = new byte[256];
            var (length, fds) = UnixRights.Receive(helper.SafeHandle, buffer);
            foreach (var fd in fds)
            {
                UnixRights.Close(fd);
            }

            var ok = fds.Count == 1 && Encoding.ASCII.GetString(buffer, 0, length) == SandboxNetworkEntry.Greeting;
            helper.Send(Encoding.ASCII.GetBytes(ok ? SandboxNetworkEntry.Accepted : "refused: probe\n"));
            return ok;
        }
        catch (Exception exception) when (exception is SocketException or IOException or ObjectDisposedException)
        {
            return false;
        }
    }
}
