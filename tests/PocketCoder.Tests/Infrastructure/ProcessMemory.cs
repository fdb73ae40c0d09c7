namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// Searches another process's readable memory (/proc/PID/maps and /proc/PID/mem: a child of the tests, or any process
/// as root) for byte strings: what a process could have read is what it holds.
/// </summary>
internal static class ProcessMemory
{
    /// <summary>Which of <paramref name="needles"/> occur anywhere in the process's readable mappings.</summary>
    public static HashSet<int> Find(int pid, IReadOnlyList<byte[]> needles)
    {
        var found = new HashSet<int>();
        var longest = needles.Max(n => n.Length);
        using var memory = new FileStream($"/proc/{pid}/mem", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        var chunk = new byte[(1 << 20) + longest];
        foreach (var line in File.ReadLines($"/proc/{pid}/maps"))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields[1][0] != 'r' || (fields.Length > 5 && fields[5] is "[vvar]" or "[vsyscall]" or "[vvar_vclock]"))
            {
                continue;
            }

            var range = fields[0].Split('-');
            var start = Convert.ToInt64(range[0], 16);
            var end = Convert.ToInt64(range[1], 16);
            // Each read overlaps the last by the longest needle, so nothing split across two reads is missed.
            for (var at = start; at < end; at += 1 << 20)
            {
                var length = (int)Math.Min(chunk.Length, end - at);
                try
                {
                    memory.Seek(at, SeekOrigin.Begin);
                    length = memory.Read(chunk, 0, length);
                }
                catch (IOException)
                {
                    // Unmapped meanwhile, or not readable after all.
                    break;
                }

                for (var n = 0; n < needles.Count; n++)
                {
                    if (chunk.AsSpan(0, length).IndexOf(needles[n]) >= 0)
                    {
                        found.Add(n);
                    }
                }
            }
        }

        return found;
    }
}
