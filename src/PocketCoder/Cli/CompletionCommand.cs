using System.CommandLine;

namespace PocketCoder.Cli;

/// <summary>
/// <c>pocketcoder completion bash|zsh</c>: a shell completion script. The shell asks pocketcoder itself what may come next
/// (System.CommandLine's <c>[suggest:POSITION]</c> directive), so completion always knows every verb and option this build has.
/// </summary>
internal sealed class CompletionCommand : Verb
{
    public const string Bash = """
        # pocketcoder completion for bash: eval "$(pocketcoder completion bash)" (e.g. in ~/.bashrc)
        _pocketcoder_complete() {
          local word="${COMP_WORDS[COMP_CWORD]}" line
          COMPREPLY=()
          # Each suggestion is taken as it is: never expanded or globbed by the shell.
          while IFS= read -r line; do
            [[ "$line" == "$word"* ]] && COMPREPLY+=("$line")
          done < <(pocketcoder "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)
        }
        complete -o default -F _pocketcoder_complete pocketcoder
        """;

    public const string Zsh = """
        # pocketcoder completion for zsh: eval "$(pocketcoder completion zsh)" (e.g. in ~/.zshrc, after compinit)
        _pocketcoder() {
          local -a items
          items=("${(@f)$(pocketcoder "[suggest:${#${BUFFER[1,CURSOR]}}]" "$BUFFER" 2>/dev/null)}")
          compadd -a items
        }
        compdef _pocketcoder pocketcoder
        """;

    private readonly Argument<string> _shell = new Argument<string>("shell") { Description = "bash or zsh." }.AcceptOnlyFromAmong("bash", "zsh");

    public CompletionCommand() : base("completion", "Print a shell completion script: eval \"$(pocketcoder completion bash)\" in ~/.bashrc (or zsh).", data: false) =>
        Declare(_shell);

    protected override async Task<int> RunAsync(ParseResult parsed, TextWriter output, TextWriter error)
    {
        await output.WriteLineAsync(parsed.GetValue(_shell) == "zsh" ? Zsh : Bash);
        return 0;
    }
}
