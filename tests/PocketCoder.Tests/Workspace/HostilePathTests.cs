using System.Net;
using System.Text.Json;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Workspace;

/// <summary>Every way out of the project root we could think of, tried against list, read and write.</summary>
public sealed class HostilePathTests
{
    /// <summary>Paths as the client means them (they are percent-encoded once on the way, as a browser would).</summary>
    private static readonly string[] Hostile =
    [
        "..", "../", "../..", "../../..", "../../../etc/passwd", "./../etc/passwd", "a/../../etc/passwd", "src/../../outside.txt",
        "src/../../../../../../../../etc/shadow", "....//....//etc/passwd", "../" + new string('a', 10), "./..", ".././.", "src/./../..",
        "a/b/c/../../../../x", "/etc/passwd", "/", "//etc/passwd", "/tmp", "/proc/self/environ", "/root/.ssh/id_rsa",
        "..\\..\\etc\\passwd", "src\\..\\..\\x", "\\etc\\passwd", "a\\b", "C:\\Windows\\win.ini",
        "%2e%2e", "%2e%2e/etc/passwd", "%2E%2E%2Fetc%2Fpasswd", "..%2fetc%2fpasswd", "%252e%252e/etc/passwd", "src/%2e%2e/%2e%2e/x",
        "..%5c..%5cetc", "%2e%2e%5cetc", "%c0%ae%c0%ae/etc/passwd",
        "\uFF0E\uFF0E/etc/passwd", "\u2024\u2024/etc", "src\u2215..\u2215..\u2215x", "..\uFF0Fetc", "\uFE52\uFE52/x",
        "link-out", "link-out/passwd", "link-out/../x", "nested/link-up", "nested/link-up/secret.txt", "link-root", "link-root/etc/hostname",
        "link-chain", "link-chain/x", "abs-link", "abs-link/x",
    ];

    /// <summary>Refused for being unusable rather than outside: NUL and absurd length.</summary>
    private static readonly string[] Invalid =
    [
        "README.md\0.txt", "\0", "a\0/../../etc/passwd", new string('a', 5000), string.Join('/', Enumerable.Repeat("d", 30)),
    ];

    [Fact]
    public async Task HostilePaths_ListReadAndWrite_AllRefusedAndNothingWritten()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var outside = TempPaths.NewDirectory("pc-outside");
        File.WriteAllText(Path.Combine(outside, "passwd"), "secret");
        File.WriteAllText(Path.Combine(outside, "secret.txt"), "secret");
        try
        {
            var repo = world.Repository;
            Directory.CreateDirectory(Path.Combine(repo, "src"));
            Directory.CreateDirectory(Path.Combine(repo, "nested"));
            File.CreateSymbolicLink(Path.Combine(repo, "link-out"), outside);
            File.CreateSymbolicLink(Path.Combine(repo, "nested", "link-up"), "../../" + Path.GetFileName(outside));
            File.CreateSymbolicLink(Path.Combine(repo, "link-root"), "/");
            File.CreateSymbolicLink(Path.Combine(repo, "link-chain"), "link-out");
            File.CreateSymbolicLink(Path.Combine(repo, "abs-link"), Path.Combine(outside, "passwd"));
            var before = Snapshot(outside);

            Assert.True(Hostile.Length + Invalid.Length >= 50, "the corpus must hold at least 50 paths");
            var failures = new List<string>();
            foreach (var path in Hostile)
            {
                await ExpectAsync(world, path, "OUTSIDE_PROJECT_ROOT", failures);
            }

            foreach (var path in Invalid)
            {
                await ExpectAsync(world, path, "INVALID_PATH", failures);
            }

            Assert.True(failures.Count == 0, string.Join("\n", failures));
            Assert.Equal(before, Snapshot(outside));
            Assert.Equal("secret", File.ReadAllText(Path.Combine(outside, "passwd")));
            Assert.Empty(await world.LedgerAsync("file.written"));
        }
        finally
        {
            TempPaths.Delete(outside);
        }
    }

    [Fact]
    public async Task SymlinkInsideProject_PointingInside_IsFollowed()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        File.CreateSymbolicLink(Path.Combine(world.Repository, "readme-link"), "README.md");
        var read = await world.Http.GetOkAsync($"{world.Api}/files/content?path=readme-link");
        Assert.Equal("# test project\n", read.GetProperty("content").GetString());
    }

    [Fact]
    public async Task DanglingSymlinkOut_Write_RefusedAndTargetNotCreated()
    {
        await using var world = await WorkspaceWorld.StartAsync();
        var target = Path.Combine(Path.GetTempPath(), $"pc-pwned-{Guid.NewGuid():N}");
        File.CreateSymbolicLink(Path.Combine(world.Repository, "dangling"), target);
        await ApiAssert.ProblemAsync(await world.Http.PutAsync($"{world.Api}/files/content?path=dangling", new StringContent("x")),
            HttpStatusCode.BadRequest, "OUTSIDE_PROJECT_ROOT");
        Assert.False(File.Exists(target));
    }

    private static async Task ExpectAsync(WorkspaceWorld world, string path, string code, List<string> failures)
    {
        var query = "?path=" + Uri.EscapeDataString(path);
        var attempts = new (string Verb, Func<Task<HttpResponseMessage>> Send)[]
        {
            ("list", () => world.Http.GetAsync($"{world.Api}/files{query}")),
            ("read", () => world.Http.GetAsync($"{world.Api}/files/content{query}")),
            ("write", () => world.Http.PutAsync($"{world.Api}/files/content{query}", new StringContent("pwned"))),
        };
        foreach (var (verb, send) in attempts)
        {
            using var response = await send();
            var text = await response.Content.ReadAsStringAsync();
            string? actual = null;
            try
            {
                actual = JsonElement.Parse(text).GetProperty("code").GetString();
            }
            catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException)
            {
            }

            if (response.StatusCode != HttpStatusCode.BadRequest || actual != code)
            {
                failures.Add($"{verb} {JsonSerializer.Serialize(path)}: {(int)response.StatusCode} {actual ?? text[..Math.Min(200, text.Length)]}");
            }
        }
    }

    private static string Snapshot(string directory) =>
        string.Join("\n", Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(p => $"{p}:{(File.Exists(p) ? new FileInfo(p).Length : -1)}"));
}
