using System.Diagnostics;

namespace PocketCoder.Tests.Api;

/// <summary>`pocketcoder completion bash` in a real bash: the script asks the executable what may come next.</summary>
public sealed class CompletionTests
{
    [Theory]
    [InlineData("pocketcoder se", new[] { "send", "serve", "service", "sessions" })]
    [InlineData("pocketcoder watch --h", new[] { "--help", "--history" })]
    public async Task Bash_CompletesVerbsAndOptions(string line, string[] expected)
    {
        var bin = Infrastructure.TempPaths.NewDirectory("pc-completion");
        try
        {
            var wrapper = Path.Combine(bin, "pocketcoder");
            await File.WriteAllTextAsync(wrapper, $"#!/bin/sh\nexec {string.Join(' ', Infrastructure.PocketCoderCommand.Prefix.Select(part => $"'{part}'"))} \"$@\"\n");
            File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add("""
                eval "$(pocketcoder completion bash)"
                COMP_LINE="$1"; COMP_POINT=${#1}; read -ra COMP_WORDS <<< "$1"; COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
                _pocketcoder_complete
                printf '%s\n' "${COMPREPLY[@]}"
                """);
            info.ArgumentList.Add("bash");
            info.ArgumentList.Add(line);
            info.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
            using var bash = Process.Start(info)!;
            var output = await bash.StandardOutput.ReadToEndAsync();
            var error = await bash.StandardError.ReadToEndAsync();
            await bash.WaitForExitAsync();
            Assert.True(bash.ExitCode == 0, error);
            Assert.Equal(expected, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        }
        finally
        {
            Infrastructure.TempPaths.Delete(bin);
        }
    }
}
