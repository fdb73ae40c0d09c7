namespace PocketCoder.Agents.Processes.Network;

/// <summary>
/// Where a held login (<see cref="HeldOAuthLogin"/>) is refreshed: the agent's own token endpoint, or a test's fake one that the
/// server's <paramref name="Setting"/> names (a setting of the server's, never passed on to the agent).
/// </summary>
public sealed record OAuthTokenEndpoint(Uri Url, string Setting)
{
    /// <summary>The endpoint <paramref name="command"/> refreshes at: the setting's absolute URL where it names one, else <see cref="Url"/>.</summary>
    public Uri For(AgentCommand command) =>
        command.Setting(Setting) is { Length: > 0 } set && Uri.TryCreate(set, UriKind.Absolute, out var given) ? given : Url;
}
