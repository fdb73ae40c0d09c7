using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using PocketCoder.Health;
using PocketCoder.Notifications;

namespace PocketCoder.Server;

/// <summary>
/// Lets go of the program's file pages once start-up is over. Start-up reads much of the program once and never again:
/// the native binary's compressed type data (unpacked into memory of its own at start), the code that migrates the
/// database, parses the command line, builds the host and warms the push path; and the kernel maps each page's neighbours
/// with it. Those clean pages stayed in the server's resident memory for its whole life (32 MiB of the native binary's
/// 38 MiB file, 6 s after start). When the push warm-up, the first agent probe and the sandbox's probe are done, each
/// read-only file mapping that holds no page of its own is dropped from the process's page tables
/// (<c>madvise(MADV_DONTNEED)</c>). Nothing is lost: the pages stay in the kernel's page cache, and a page needed again
/// comes back on its first touch, a minor fault.
/// Linux only; elsewhere, and where <c>/proc/self/smaps</c> cannot be read, nothing happens.
/// </summary>
public sealed class StartupPages(PushWarmup push, AgentHealthCache agents, Sessions.SandboxProbe sandbox, IHostApplicationLifetime lifetime,
    ILogger<StartupPages> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource<long> _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _releasing = Task.CompletedTask;

    /// <summary>How many bytes of resident program pages were let go once start-up was over (0 where nothing could be).</summary>
    public Task<long> Released => _released.Task;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => _releasing = Task.Run(ReleaseAfterStartupAsync, CancellationToken.None));
        return Task.CompletedTask;
    }

    private async Task ReleaseAfterStartupAsync()
    {
        try
        {
            await push.Warmed.WaitAsync(_stopping.Token).ConfigureAwait(false);
            if (agents.Probe is { } probe)
            {
                await probe.WaitAsync(_stopping.Token).ConfigureAwait(false);
            }

            // The sandbox's probe runs once the server answers (its processes and the code that starts them): let go after
            // it, or its pages come back at once and the release, made in the middle of start-up's work, holds nothing.
            await sandbox.Done.WaitAsync(_stopping.Token).ConfigureAwait(false);

            var released = Release();
            logger.LogDebug("Start-up is over: let go of {MiB:0.0} MiB of program pages", released / 1048576.0);
            _released.TrySetResult(released);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            _released.TrySetCanceled();
        }
        catch (Exception exception)
        {
            // Only memory is at stake: the pages stay resident, as before.
            logger.LogDebug(exception, "Letting go of start-up's program pages failed");
            _released.TrySetResult(0);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _releasing.ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>Drops every private, read-only file mapping's pages from this process; returns the resident bytes they held.</summary>
    internal static long Release()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(SmapsPath))
        {
            return 0;
        }

        List<Mapping> mappings;
        using (var smaps = new FileStream(SmapsPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0))
        {
            mappings = ReadOnlyFileMappings(smaps);
        }

        long released = 0;
        foreach (var mapping in mappings)
        {
            if (madvise(mapping.Start, mapping.Length, MadviseDontNeed) == 0)
            {
                released += mapping.ResidentBytes;
            }
        }

        return released;
    }

    internal const string SmapsPath = "/proc/self/smaps";

    /// <param name="ResidentBytes">Its resident pages when read.</param>
    internal readonly record struct Mapping(nint Start, nuint Length, long ResidentBytes);

    /// <summary>
    /// The mappings of a file (a path, not <c>[heap]</c>) that are private and neither writable nor holding a page written
    /// since (<c>Anonymous: 0</c>): for those, dropping a page loses nothing, as the file has every byte of it. A read-only
    /// mapping with a page of its own (relocations applied before it was made read-only) is left alone. Read as bytes, a
    /// line at a time, into one pooled buffer: a JIT process has ~1,400 mappings (35,000 lines, 1 MB), and a string per
    /// line would leave megabytes of garbage for the collector, which then keeps that much more memory.
    /// </summary>
    internal static List<Mapping> ReadOnlyFileMappings(Stream smaps, int bufferSize = 1 << 16)
    {
        var found = new List<Mapping>();
        var reader = new SmapsReader(found);
        var buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
        try
        {
            var filled = 0;
            while (true)
            {
                var read = smaps.Read(buffer, filled, buffer.Length - filled);
                filled += read;
                var consumed = 0;
                for (int newline; (newline = buffer.AsSpan(consumed, filled - consumed).IndexOf((byte)'\n')) >= 0; consumed += newline + 1)
                {
                    reader.Line(buffer.AsSpan(consumed, newline));
                }

                if (read == 0)
                {
                    reader.Line(buffer.AsSpan(consumed, filled - consumed));
                    return found;
                }

                if (consumed == 0 && filled == buffer.Length)
                {
                    // A line longer than the buffer (no path is): the file is not what it should be, so nothing is dropped.
                    found.Clear();
                    return found;
                }

                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Follows one mapping at a time: its header line, then its <c>Rss:</c> and <c>Anonymous:</c> lines.</summary>
    private sealed class SmapsReader(List<Mapping> found)
    {
        private Mapping? _candidate;
        private long _resident;

        public void Line(ReadOnlySpan<byte> line)
        {
            if (line.IsEmpty)
            {
                return;
            }

            if (char.IsAsciiDigit((char)line[0]) || char.IsAsciiHexDigitLower((char)line[0]))
            {
                // A header: start-end perms offset dev inode [path]. Field lines start with a capital (Rss:, VmFlags:).
                _candidate = Candidate(line);
                _resident = 0;
            }
            else if (_candidate is not null && line.StartsWith("Rss:"u8))
            {
                _resident = Kilobytes(line["Rss:"u8.Length..]) * 1024;
            }
            else if (_candidate is { } candidate && line.StartsWith("Anonymous:"u8))
            {
                _candidate = null;
                if (Kilobytes(line["Anonymous:"u8.Length..]) == 0 && _resident > 0)
                {
                    found.Add(candidate with { ResidentBytes = _resident });
                }
            }
        }

        private static Mapping? Candidate(ReadOnlySpan<byte> header)
        {
            var dash = header.IndexOf((byte)'-');
            var space = header.IndexOf((byte)' ');
            if (dash <= 0 || space <= dash || header.Length < space + 5
                || !long.TryParse(header[..dash], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var start)
                || !long.TryParse(header[(dash + 1)..space], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var end))
            {
                return null;
            }

            // No field before the path holds a '/', and every file's path starts with one ([heap], [vdso] do not).
            var permissions = header.Slice(space + 1, 4);
            var readOnlyPrivate = permissions[0] == 'r' && permissions[1] == '-' && permissions[3] == 'p';
            return readOnlyPrivate && header.Contains((byte)'/') && end > start ? new Mapping((nint)start, (nuint)(end - start), 0) : null;
        }

        private static long Kilobytes(ReadOnlySpan<byte> value)
        {
            value = value.Trim((byte)' ');
            if (value.EndsWith(" kB"u8))
            {
                value = value[..^3].TrimEnd((byte)' ');
            }

            return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var kilobytes) ? kilobytes : -1;
        }
    }

    private const int MadviseDontNeed = 4;

    // Blittable arguments only: no marshalling code is generated, so neither unsafe code nor LibraryImport is needed here.
    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int madvise(nint address, nuint length, int advice);
}
