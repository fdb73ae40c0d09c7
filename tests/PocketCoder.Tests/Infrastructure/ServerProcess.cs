using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// The real <c>pocketcoder serve</c> as its own OS process (the build output beside the tests, run with
/// <c>dotnet</c>, or the native binary: <see cref="PocketCoderCommand"/>), for what an in-process server cannot show: a <c>kill -9</c>.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _log = new();
    private EventHandler? _killAtExit;

    private ServerProcess(Process process, Uri baseUrl, string dataDirectory)
    {
        _process = process;
        BaseUrl = baseUrl;
        DataDirectory = dataDirectory;
    }

    public Uri BaseUrl { get; }

    public string DataDirectory { get; }

    public int Pid => _process.Id;

    /// <summary>What the server printed, for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <param name="executable">The installed `pocketcoder` to run (a packed tool); <see cref="PocketCoderCommand"/>'s when null.</param>
    public static async Task<ServerProcess> StartAsync(string dataDirectory, IReadOnlyDictionary<string, string?> environment, string? executable = null) =>
        (await ReadyProcess.OnFreePortAsync(port => StartAtAsync(new Uri($"http://127.0.0.1:{port}"), dataDirectory, environment, executable))).Started;

    private static async Task<ServerProcess> StartAtAsync(Uri baseUrl, string dataDirectory, IReadOnlyDictionary<string, string?> environment, string? executable)
    {
        var info = Info("serve", "--listen", baseUrl.ToString().TrimEnd('/'), "--data", dataDirectory);
        if (executable is not null)
        {
            info = new ProcessStartInfo(executable, info.ArgumentList.Skip(PocketCoderCommand.Prefix.Count - 1))
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
        }

        foreach (var (name, value) in environment)
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

        var server = new ServerProcess(Process.Start(info)!, baseUrl, dataDirectory);
        // A test that fails between the start and its `await using` (a helper that throws) never disposes it: the server
        // must not outlive the test run.
        // Unhooked when disposed, so the run does not keep every finished server (and its log) alive to its end.
        server._killAtExit = (_, _) => server.KillIfRunning();
        AppDomain.CurrentDomain.ProcessExit += server._killAtExit;
        server._process.OutputDataReceived += (_, e) => server.Append(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        await server.WaitHealthyAsync();
        return server;
    }

    /// <summary>Pairs a device the way a user does: <c>pocketcoder pair --json</c>, then POST /api/pair.</summary>
    public async Task<HttpClient> PairAsync(string deviceName = "phone")
    {
        var code = await PairingCodeAsync();
        using var anonymous = new HttpClient { BaseAddress = BaseUrl };
        var paired = await ApiAssert.OkJsonAsync(await anonymous.PostAsJsonAsync("/api/pair", new { code, deviceName }));
        return Client(paired.GetProperty("token").GetString()!);
    }

    /// <summary>A pairing code for the owner's next device, as <c>pocketcoder pair --json</c> prints it.</summary>
    public async Task<string> PairingCodeAsync()
    {
        using var pair = Process.Start(Info("pair", "--json", "--data", DataDirectory))!;
        var output = await pair.StandardOutput.ReadToEndAsync();
        await pair.WaitForExitAsync();
        Assert.True(pair.ExitCode == 0, $"pocketcoder pair failed: {await pair.StandardError.ReadToEndAsync()}");
        return JsonElement.Parse(output).GetProperty("code").GetString()!;
    }

    /// <summary>SIGTERM, as <c>systemctl stop</c> or Ctrl+C would: agents stopped, state saved. Killed after a minute.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        Assert.Equal(0, Kill(_process.Id, Sigterm));
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await _process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The server did not stop within a minute of SIGTERM:\n{Log}");
        }
    }

    private void KillIfRunning()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (Exception exception) when (exception is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Exited, or disposed, already.
        }
    }

    public HttpClient Client(string token)
    {
        var http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>SIGKILL: no shutdown hook runs, nothing is flushed, exactly like a power cut to the process.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    /// <summary>Every process started under the server (the agents), by pid.</summary>
    public List<int> Descendants()
    {
        var parents = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid))
            {
                try
                {
                    var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                    parents[pid] = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                }
            }
        }

        var result = new List<int>();
        var frontier = new Queue<int>([_process.Id]);
        while (frontier.TryDequeue(out var parent))
        {
            foreach (var child in parents.Where(p => p.Value == parent).Select(p => p.Key))
            {
                result.Add(child);
                frontier.Enqueue(child);
            }
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= _killAtExit;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private async Task WaitHealthyAsync()
    {
        using var http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(_process.HasExited, $"The server exited with {(_process.HasExited ? _process.ExitCode : 0)}:\n{Log}");
            try
            {
                if ((await http.GetAsync("/api/health")).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
                // Not answered within the client's 5 s (a server still starting on a loaded machine): asked again until the minute is up.
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"The server did not answer /api/health within a minute:\n{Log}");
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }

    private static ProcessStartInfo Info(params string[] args) => PocketCoderCommand.Info(args);

    private const int Sigterm = 15;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
