using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PocketCoder.Bench;

/// <summary>Launches and measures the published executables (pocketcoder, the bare app) as real OS processes.</summary>
public sealed class OsProcess : IAsyncDisposable
{
    private readonly Process _process;

    private OsProcess(Process process, Uri baseUrl, long startedAt)
    {
        _process = process;
        BaseUrl = baseUrl;
        StartedAt = startedAt;
    }

    public Uri BaseUrl { get; }

    /// <summary>Stopwatch timestamp taken just before exec.</summary>
    public long StartedAt { get; }

    public int Pid => _process.Id;

    public static OsProcess Start(string executable, IEnumerable<string> args, Uri baseUrl, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
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

        var startedAt = Stopwatch.GetTimestamp();
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                Console.Error.WriteLine($"  [{Path.GetFileName(executable)}] {line}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new OsProcess(process, baseUrl, startedAt);
    }

    /// <summary>Polls GET /api/health until it answers 200; returns the time since exec.</summary>
    public async Task<TimeSpan> WaitHealthyAsync(HttpClient http, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The process exited with {_process.ExitCode} before it answered.");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(BaseUrl, "/api/health"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return Stopwatch.GetElapsedTime(StartedAt);
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(2);
        }

        throw new TimeoutException($"{BaseUrl} did not become healthy within {timeout}.");
    }

    /// <summary>Resident set size of this process, in MiB.</summary>
    public double RssMiB() => Rss(_process.Id);

    /// <summary>CPU time (user and system) this process has used so far, in seconds.</summary>
    public double CpuSeconds()
    {
        _process.Refresh();
        return _process.TotalProcessorTime.TotalSeconds;
    }

    /// <summary>This process and every descendant (agents run in their own process group but stay our children).</summary>
    public (double Total, int Processes) TreeRssMiB()
    {
        var tree = Descendants(_process.Id).Prepend(_process.Id).ToList();
        return (tree.Sum(Rss), tree.Count);
    }

    public static double Rss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kb = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    return kb / 1024.0;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    public static List<int> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parents[pid] = int.Parse(fields[1], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
            }
        }

        var result = new List<int>();
        var frontier = new Queue<int>([root]);
        while (frontier.TryDequeue(out var parent))
        {
            foreach (var (child, _) in parents.Where(p => p.Value == parent))
            {
                result.Add(child);
                frontier.Enqueue(child);
            }
        }

        return result;
    }

    public static Uri FreeLoopbackUrl()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            var descendants = Descendants(_process.Id);
            _process.Kill(entireProcessTree: true);
            foreach (var pid in descendants)
            {
                try
                {
                    Process.GetProcessById(pid).Kill(entireProcessTree: true);
                }
                catch (ArgumentException)
                {
                }
                catch (InvalidOperationException)
                {
                }
            }

            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
