using System.Diagnostics;

namespace PocketCoder.Tests.Infrastructure;

public static class TempPaths
{
    public static string NewDirectory(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>
    /// Deletes a test folder, first ending the tmux server of a data folder kept there: tmux is a daemon that outlives
    /// the server by design, so without this every terminal test would leave one running after its folder is gone.
    /// </summary>
    public static void Delete(string path)
    {
        StopTmuxServer(path);
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
            // A process that outlived its test may still hold a file; temp cleanup is best effort.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>A real git repository with one commit, as a user would register.</summary>
    public static string NewGitRepository()
    {
        var path = NewDirectory("pc-repo");
        File.WriteAllText(Path.Combine(path, "README.md"), "# test project\n");
        Git(path, "init", "-q", "-b", "main");
        Git(path, "add", ".");
        Git(path, "-c", "user.email=test@example.invalid", "-c", "user.name=Test", "commit", "-q", "-m", "initial");
        return path;
    }

    /// <summary>Runs git in a test repository as a person would (nothing neutralised); its output, trimmed. Throws when it fails.</summary>
    public static string Git(string directory, params string[] args)
    {
        var info = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"git {string.Join(' ', args)} failed: {error}");
        }

        return output.Result.Trim();
    }

    public static void StopTmuxServer(string dataDirectory)
    {
        var socket = PocketCoder.Workspace.Terminal.Terminals.SocketFor(dataDirectory);
        if (!File.Exists(socket))
        {
            return;
        }

        var info = new ProcessStartInfo("tmux") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "-S", socket, "kill-server" })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        process.WaitForExit();
    }
}
