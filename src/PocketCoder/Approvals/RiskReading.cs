using PocketCoder.Agents;

namespace PocketCoder.Approvals;

/// <summary>
/// The server's one reading of a call's risk, made once when the call reaches the gate: its <see cref="RiskClasses">class</see>
/// (its kind, or <c>protected</c>) and its <see cref="RiskSigns">signs</see> (a download piped to a shell, a force push…).
/// Team routing and the phone's card both read this: a project's policy names classes and signs alike (<c>twoPerson:
/// ["force-push"]</c>, <c>deciders: {"piped-to-shell": "owner"}</c>), and the card shows the same signs in words.
/// </summary>
public sealed record RiskReading(string Class, IReadOnlyList<string> Signs)
{
    public static RiskReading Of(PermissionRequest request, string projectRoot) =>
        new(Policy.RiskOf(request, projectRoot), RiskSigns.Read(request, projectRoot));

    /// <summary>
    /// The signs a team policy may name. Not <c>network</c>: that word already names the class of a connection out of a
    /// sandbox (<see cref="RiskClasses.Network"/>), and a policy written for those must not start holding every <c>curl</c>.
    /// </summary>
    public static readonly IReadOnlyList<string> RoutableSigns = [.. RiskSigns.All.Where(sign => !RiskClasses.Routed.Contains(sign))];

    /// <summary>What a team policy may name to route this call: its class, then each routable sign.</summary>
    public IEnumerable<string> Routed => [Class, .. Signs.Where(RoutableSigns.Contains)];
}
