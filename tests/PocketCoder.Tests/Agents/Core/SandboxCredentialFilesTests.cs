using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>
/// Credential files the owner's environment names (docs/security.md, "Secrets"): a Google service account's key in
/// <c>GOOGLE_APPLICATION_CREDENTIALS</c> (Vertex AI's login for Claude Code and Gemini CLI), AWS's <c>AWS_SHARED_CREDENTIALS_FILE</c>
/// and gcloud's <c>CLOUDSDK_CONFIG</c> folder are hidden in a sandbox as <c>~/.config/gcloud</c> and <c>~/.aws</c> are; another
/// file of the owner's home, beside them, is still read (so the probe can see what it is not shown).
/// </summary>
public sealed class SandboxCredentialFilesTests
{
    [Fact]
    public async Task CredentialFilesTheEnvironmentNames_AreEmptyInside_TheRestOfTheHomeIsRead()
    {
        var bwrap = AgentSandbox.FindBwrap();
        Assert.True(bwrap is not null, "bubblewrap is missing: scripts/test.sh installs it.");
        var project = TempPaths.NewDirectory("pc-sandbox");
        var home = TempPaths.NewDirectory("pc-home");
        try
        {
            var keys = Directory.CreateDirectory(Path.Combine(home, "keys")).FullName;
            var serviceAccount = Path.Combine(keys, "vertex-sa.json");
            File.WriteAllText(serviceAccount, """{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nCLOUDSECRETsa\n-----END PRIVATE KEY-----\n"}""");
            var aws = Path.Combine(keys, "aws-credentials");
            File.WriteAllText(aws, "[default]\naws_secret_access_key = CLOUDSECRETaws\n");
            var gcloud = Directory.CreateDirectory(Path.Combine(home, "gcloud-config")).FullName;
            File.WriteAllText(Path.Combine(gcloud, "application_default_credentials.json"), """{"refresh_token": "CLOUDSECRETadc"}""");
            File.WriteAllText(Path.Combine(keys, "notes.txt"), "plain notes\n");

            var sandbox = new AgentSandbox(bwrap, [project], [], [], Path.Combine(project, "agent-home"));
            var spec = sandbox.Wrap(new ProcessSpec("/bin/sh",
                ["-c", "cat \"$GOOGLE_APPLICATION_CREDENTIALS\" \"$AWS_SHARED_CREDENTIALS_FILE\" \"$CLOUDSDK_CONFIG/application_default_credentials.json\" \"$HOME/keys/notes.txt\" 2>&1; echo end"],
                project, new Dictionary<string, string?>
                {
                    ["HOME"] = home, ["GOOGLE_APPLICATION_CREDENTIALS"] = serviceAccount, ["AWS_SHARED_CREDENTIALS_FILE"] = aws, ["CLOUDSDK_CONFIG"] = gcloud,
                }, null), AgentState.Of([]));
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
            Assert.Contains("plain notes", said, StringComparison.Ordinal);
            Assert.Contains("end", said, StringComparison.Ordinal);
            Assert.DoesNotContain("CLOUDSECRET", said, StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(project);
            TempPaths.Delete(home);
        }
    }
}
