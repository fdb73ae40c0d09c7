using System.Text.Json.Nodes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Realtime;
using PocketCoder.Teams;

namespace PocketCoder.Approvals;

/// <summary>
/// The allows of a call that needs several people, counted as of now: a vote counts only while its person may still decide
/// the call (active, their role in the project at least the one the call needs) and the device it came from is not revoked.
/// Revoking or demoting a person, narrowing them in a project or revoking a device withdraws the votes that no longer count,
/// in the same transaction, with a ledger entry and an <c>approval.vote</c> update to every phone.
/// </summary>
public static class ApprovalVotes
{
    /// <summary>The votes on the call that count now, oldest first.</summary>
    public static IReadOnlyList<Vote> Counted(DbWrite write, Approval approval) =>
        [.. ApprovalStore.Votes(write, approval.Id).Where(vote => Counts(write, approval, vote))];

    internal static void Add(DbWrite write, Ledger.LedgerStore ledger, EventLog events, Approval approval, Decider person, Actor actor, DateTimeOffset at)
    {
        ApprovalStore.AddVote(write, approval.Id, person, actor.Id, at);
        ledger.Append(write, actor.Name, "approval.allowed_by_one", approval.Id, new JsonObject
        {
            ["sessionId"] = approval.SessionId, ["deviceId"] = actor.Id, ["personId"] = person.PersonId, ["person"] = person.Name,
            ["tool"] = approval.Tool, ["input"] = JsonNode.Parse(approval.Input), ["needed"] = approval.Needed,
        });
        events.Append(write, approval.SessionId, Update(write, approval));
    }

    /// <summary>
    /// Withdraws every pending vote of <paramref name="personId"/>, or cast from <paramref name="deviceId"/>, that no longer
    /// counts (the caller has just revoked, demoted or narrowed them): deleted, ledgered (<c>approval.vote_withdrawn</c>), and
    /// each call's count sent again. Returns how many were withdrawn.
    /// </summary>
    public static int WithdrawUncounted(DbWrite write, Ledger.LedgerStore ledger, EventLog events, string actor, string? personId, string? deviceId)
    {
        var withdrawn = 0;
        foreach (var approval in ApprovalStore.PendingVotedBy(write, personId, deviceId))
        {
            var gone = ApprovalStore.Votes(write, approval.Id)
                .Where(vote => (vote.PersonId == personId || vote.DeviceId == deviceId) && !Counts(write, approval, vote)).ToList();
            foreach (var vote in gone)
            {
                ApprovalStore.RemoveVote(write, approval.Id, vote);
                ledger.Append(write, actor, "approval.vote_withdrawn", approval.Id, new JsonObject
                {
                    ["sessionId"] = approval.SessionId, ["personId"] = vote.PersonId, ["person"] = vote.PersonName, ["deviceId"] = vote.DeviceId,
                    ["reason"] = "no longer one who may decide it",
                });
            }

            if (gone.Count > 0)
            {
                events.Append(write, approval.SessionId, Update(write, approval));
                withdrawn += gone.Count;
            }
        }

        return withdrawn;
    }

    private static ApprovalVoteEvent Update(DbWrite write, Approval approval) =>
        new(approval.Id, approval.ToolCallId, [.. Counted(write, approval).Select(v => v.PersonName)], approval.Needed);

    private static bool Counts(DbWrite write, Approval approval, Vote vote)
    {
        // The one table says whether they may still allow it (one allow of their own: the count of many is this class's).
        var who = Authority.Who(write, vote.DeviceId, vote.PersonName, approval.ProjectId);
        var least = Roles.FromWire(approval.DeciderRole) ?? Role.Approver;
        return who.PersonId == vote.PersonId
            && DecisionRights.Check(who, new DecideCall(approval.Risk, least, Needed: 1, AllowedAlready: false, Decisions.AllowOnce), TeamPolicy.Default).Allowed;
    }
}
