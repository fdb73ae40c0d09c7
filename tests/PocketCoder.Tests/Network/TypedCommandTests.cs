using PocketCoder.Network;

namespace PocketCoder.Tests.Network;

/// <summary>
/// What a network call's card says opened the connection (#67): the program and its arguments as the owner would type them,
/// never the agent's shell wrapper around them. The wrappers are spelled as each agent's own code builds them.
/// </summary>
[Trait("Category", "Unit")]
public sealed class TypedCommandTests
{
    /// <summary>Claude Code's Bash tool (2.x): set-up steps joined by &amp;&amp;, the command quoted for eval, then where it ended.</summary>
    private static string[] Claude(string quoted, bool braces = false) =>
    [
        "/bin/bash", "-c", string.Join(" && ",
            "source /root/.claude/shell-snapshots/snapshot-bash-1764300000000-q1w2e3.sh 2>/dev/null || true",
            "\\builtin shopt -u extglob 2>/dev/null || true",
            "{ \\builtin unalias -- 'unsetenv'; \\builtin unset -f -- 'unsetenv'; } >/dev/null 2>&1 || true",
            braces ? $"{{ eval {quoted}; }}" : $"eval {quoted}",
            "pwd -P >| /tmp/claude-5f2e-cwd"),
    ];

    [Fact]
    public void Of_ClaudeCodesWrapper_TheCommandItEvals()
    {
        Assert.Equal("curl -s https://files.example.org/a.txt", TypedCommand.Of(Claude("'curl -s https://files.example.org/a.txt' < /dev/null")));
        // A quote inside the command is closed, escaped and reopened ('"'"'), as Claude Code writes it.
        Assert.Equal("curl -s 'https://x.example.org/?a=1&b=2' | grep \"ok\"",
            TypedCommand.Of(Claude("'curl -s '\"'\"'https://x.example.org/?a=1&b=2'\"'\"' | grep \"ok\"'")));
        Assert.Equal("npm install left-pad", TypedCommand.Of(Claude("'npm install left-pad'", braces: true)));
        Assert.Equal("git fetch origin", TypedCommand.Of(Claude("git\\ fetch\\ origin < /dev/null")));
    }

    [Theory]
    [InlineData("/bin/bash", "-lc", "npm install left-pad")] // Codex
    [InlineData("/bin/sh", "-c", "npm install left-pad")] // OpenCode, Pi
    [InlineData("bash", "--norc", "-c", "npm install left-pad")]
    [InlineData("zsh", "-o", "pipefail", "-c", "npm install left-pad")]
    public void Of_AShellGivenAScript_TheScript(params string[] argv) => Assert.Equal("npm install left-pad", TypedCommand.Of(argv));

    [Fact]
    public void Of_GeminiAndQwenWrappers_TheCommandInside()
    {
        var gemini = "_bgpids_file='/tmp/shell_bgpids_9a8b.tmp'\n(\n  trap 'jobs -p > \"$_bgpids_file\"' EXIT\ncurl -s https://x.example.org\n)\n__code=$?\nexit $__code";
        Assert.Equal("curl -s https://x.example.org", TypedCommand.Of(["bash", "-c", gemini]));
        var qwen = "{ curl -s https://x.example.org;\n}; __code=$?; pwd > \"/tmp/shell_pwd_0c1d.tmp\"; exit $__code";
        Assert.Equal("curl -s https://x.example.org", TypedCommand.Of(["bash", "-c", qwen]));
    }

    [Fact]
    public void Of_AProgram_ItsArgumentsQuotedWhereTheShellNeedsIt()
    {
        Assert.Equal("curl -H 'Accept: text/plain' https://x.example.org/", TypedCommand.Of(["curl", "-H", "Accept: text/plain", "https://x.example.org/"]));
        Assert.Equal("echo 'it'\\''s' ''", TypedCommand.Of(["echo", "it's", ""]));
        Assert.Equal("bash scripts/fetch.sh", TypedCommand.Of(["bash", "scripts/fetch.sh"]));
    }

    /// <summary>Only the agents' wrappers are taken apart: a script of the owner's own that evals is shown as it is.</summary>
    [Fact]
    public void Of_AScriptThatIsNoAgentsWrapper_AsItIs() =>
        Assert.Equal("eval \"$(ssh-agent)\" && git fetch", TypedCommand.Of(["bash", "-c", "eval \"$(ssh-agent)\" && git fetch"]));
}
