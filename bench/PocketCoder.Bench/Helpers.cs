using System.Diagnostics;

namespace PocketCoder.Bench;

public static class Temp
{
    public static string Directory(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(path);
        return path;
    }

    public static void Delete(string path)
    {
        try
        {
            System.IO.Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>A git repository with one commit, as a user registers it.</summary>
    public static async Task<string> GitRepositoryAsync()
    {
        var path = Directory("pcbench-repo");
        await File.WriteAllTextAsync(Path.Combine(path, "README.md"), "# bench\n");
        await Cli.RunAsync("git", "-C", path, "init", "-q", "-b", "main");
        await Cli.RunAsync("git", "-C", path, "add", ".");
        await Cli.RunAsync("git", "-C", path, "-c", "user.email=bench@example.invalid", "-c", "user.name=Bench", "commit", "-q", "-m", "initial");
        return path;
    }
}

public static class Cli
{
    /// <summary>Runs a command to completion and returns its standard output; throws on a non-zero exit.</summary>
    public static Task<string> RunAsync(string executable, params string[] args) => RunAsync(executable, args, null);

    /// <param name="environment">Variables to set, or to remove where null, over this process's own.</param>
    public static async Task<string> RunAsync(string executable, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment)
    {
        var info = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{executable} {string.Join(' ', args)} exited {process.ExitCode}: {await error}");
        }

        return await output;
    }
}
