using Microsoft.AspNetCore.Http.HttpResults;
using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Server;

namespace PocketCoder.Sessions;

/// <param name="Agent">Required unless <paramref name="Profile"/> names the agent.</param>
/// <param name="Profile">A profile of the project to start from (GET /api/projects/{id}/profiles): its agent, model, mode, worktree
/// and instructions; each field given here wins over the profile's.</param>
public sealed record CreateSessionRequest(
    string? Agent,
    [property: StringLength(SessionsApi.MaxMessageLength, ErrorMessage = "'prompt' is at most {1} characters.")]
    string? Prompt,
    [property: StringLength(100, MinimumLength = 1, ErrorMessage = SessionsApi.ModelMessage)]
    [property: RegularExpression(SessionsApi.ModelPattern, ErrorMessage = SessionsApi.ModelMessage)]
    string? Model,
    [property: AllowedValues(SessionModes.Ask, SessionModes.Plan, SessionModes.AcceptEdits, SessionModes.Trusted, null, ErrorMessage = SessionsApi.ModeMessage)]
    string? Mode,
    IReadOnlyList<AttachmentRequest>? Attachments = null,
    bool? Worktree = null,
    [property: StringLength(250, ErrorMessage = "'base' is a branch or commit of at most {1} characters.")]
    string? Base = null,
    [property: StringLength(100, MinimumLength = 1, ErrorMessage = "'profile' is a profile id of the project.")]
    string? Profile = null);

/// <param name="Queued">Null: the message started a turn. Else a turn was running and the message waits in the session's queue.</param>
/// <param name="Duplicate">A message with this <see cref="SendMessageRequest.ClientId"/> was taken before: this one was not sent again.</param>
public sealed record SendMessageResponse(QueuedMessage? Queued, bool Duplicate = false);

/// <param name="Started">A queued message started a turn now (false: none waits, or a turn still runs and the queue goes on after it).</param>
public sealed record RunQueueResponse(bool Started);

/// <param name="Attachments">Images (shown to the model) and text files (written into the prompt), up to 4; see docs/api.md.</param>
/// <param name="ClientId">The sender's key for this message (an idempotency key): sent again with the same key, it is taken once.</param>
public sealed record SendMessageRequest(
    [property: Required(ErrorMessage = "'text' is required and must not be blank.")]
    [property: StringLength(SessionsApi.MaxMessageLength, ErrorMessage = "'text' is at most {1} characters.")]
    string? Text,
    IReadOnlyList<AttachmentRequest>? Attachments = null,
    [property: StringLength(64, MinimumLength = 8, ErrorMessage = "'clientId' is 8 to 64 characters.")]
    string? ClientId = null);

public sealed record UpdateSessionRequest(
    [property: Required(ErrorMessage = SessionsApi.ModeMessage)]
    [property: AllowedValues(SessionModes.Ask, SessionModes.Plan, SessionModes.AcceptEdits, SessionModes.Trusted, ErrorMessage = SessionsApi.ModeMessage)]
    string? Mode);

/// <param name="ArchivedAt">When the owner archived it (hidden from the app's lists, kept whole); null when not archived.</param>
/// <param name="Preview">The latest message in the session (the owner's or the agent's), on one line, cut at 200 characters.</param>
/// <param name="Match">With <c>?q=</c>: the words around the match, each matched stretch between U+0002 and U+0003.</param>
/// <param name="Profile">The name of the profile it was started with (as it was called then), or null.</param>
/// <param name="Sandbox">How its agent runs since it last started: <c>sandboxed</c> or <c>none</c>; null before it first started.</param>
/// <param name="ShortTitle">What tells it apart on a list: the first sentence of its first prompt (or the agent's own title
/// for a conversation carried on), without markdown or code, cut at a word near 48 characters; null without either.</param>
/// <param name="StartedBy">Who started it: the person (a device that is no one's: its name; a schedule or task: whoever the server
/// started it for); null for a session from before this was kept with no ledger entry naming anyone.</param>
/// <param name="Offers">What the caller may do with it now: steer it (or why not, and who can), the modes they may switch it to, stop it.</param>
/// <param name="Goal">Its goal (docs/goals.md) as <c>GET /api/sessions/{id}/goal</c> answers it, in the session list and
/// <c>GET /api/sessions/{id}</c>; null without one.</param>
public sealed record SessionResponse(
    string Id, string ProjectId, string Agent, string? Model, string Mode, string Status, string? Title,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, long LastSeq, DateTimeOffset? ArchivedAt,
    string? Preview = null,
    string? Match = null,
    string? Profile = null,
    string? Sandbox = null,
    string? ShortTitle = null,
    Teams.SessionOffers? Offers = null,
    string? StartedBy = null,
    Goals.GoalResponse? Goal = null)
{
    public static SessionResponse From(Session s) =>
        new(s.Id, s.ProjectId, s.Agent, s.Model, s.Mode, s.Status, s.Title, s.CreatedAt, s.UpdatedAt, s.LastSeq, s.ArchivedAt, s.Preview, Profile: s.Profile,
            Sandbox: s.Sandbox, ShortTitle: s.ShortTitle ?? SessionTitles.Short(s.Title), StartedBy: s.StartedBy);
}

public static class SessionsApi
{
    /// <summary>A message is at most this long; larger content belongs in a file the agent can read.</summary>
    public const int MaxMessageLength = 100_000;

    // Never a leading dash: the model is the value of an agent's option (--model, -m), and a CLI can read "--yolo" there as an
    // option of its own (Gemini CLI's did). $ | ( ) are in the ids agents report (Qwen Code's "$runtime|openai|qwen3(openai)").
    internal const string ModelPattern = @"^[A-Za-z0-9$][A-Za-z0-9._:/\-\[\]$|()@+]{0,99}$";
    internal const string ModelMessage =
        "'model' must be a model name of at most 100 letters, digits and . _ : / - [ ] $ | ( ) @ +, beginning with a letter, a digit or $.";
    internal const string ModeMessage = "'mode' must be one of ask, plan, accept_edits, trusted.";

    /// <summary>Sessions and what runs them; the manager runs with the server, started before the features that start sessions.</summary>
    public static IServiceCollection AddSessions(this IServiceCollection services, AgentRegistry agents) => services
        .AddSingleton<SessionStore>().AddSingleton<Live.LiveSessions>().AddRunningSingleton<Live.SessionStarts>().AddRunningSingleton<Live.Suspensions>().AddSingleton<SessionManager>().AddSingleton<SessionQueues>().AddSingleton(agents).AddSingleton<Running.SessionServices>()
        .AddSingleton<LooksAhead>().AddSingleton<TurnReviews>().AddSingleton<MessageQueue>().AddSingleton<MessageKeys>().AddSingleton<Handoff>().AddSingleton<HandBack>().AddSingleton<SessionHistory>().AddSingleton<Rewinds>().AddSingleton<RewindUndo>()
        .AddSingleton<Sandboxing>().AddRunningSingleton<SandboxProbe>()
        .AddSingleton<Network.Egress>().AddSingleton<Network.UnaskedConnections>()
            .AddSingleton<Network.CredentialUses>();

    public static void MapSessions(this IEndpointRouteBuilder api)
    {
        api.MapGet("/projects/{projectId}/agent-sessions", (string projectId, Handoff handoff, CancellationToken cancellationToken) => handoff.ListAsync(projectId, cancellationToken)).WithName("ListAgentConversations");
        api.MapPost("/projects/{projectId}/agent-sessions/{agent}/{conversationId}/continue", ContinueAsync).WithName("ContinueAgentConversation");
        api.MapPost("/projects/{projectId}/sessions", Create).WithName("CreateSession").WithMetadata(new Attachments.BodyLimit());

        var group = api.MapGroup("/sessions");
        group.MapGet("/", List).WithName("ListSessions");
        group.MapGet("/{id}", Get).WithName("GetSession");
        group.MapPatch("/{id}", Update).WithName("UpdateSession");
        group.MapPost("/{id}/messages", Send).WithName("SendMessage").WithMetadata(new Attachments.BodyLimit());
        group.MapGet("/{id}/queue", (string id, SessionQueues queues) => queues.Queue(id)).WithName("GetMessageQueue");
        group.MapPatch("/{id}/queue/{messageId}", (string id, string messageId, EditQueuedMessageRequest request, SessionQueues queues, ClaimsPrincipal user) =>
            queues.EditQueued(id, messageId, request.Text!, user.Actor())).WithName("EditQueuedMessage");
        group.MapDelete("/{id}/queue/{messageId}", (string id, string messageId, SessionQueues queues) =>
        {
            queues.RemoveQueued(id, messageId);
            return TypedResults.NoContent();
        }).WithName("RemoveQueuedMessage");
        group.MapPost("/{id}/queue/{messageId}/confirm", (string id, string messageId, SessionQueues queues, ClaimsPrincipal user, CancellationToken ct) =>
            queues.ConfirmQueuedAsync(id, messageId, user.Actor(), ct)).WithName("ConfirmQueuedMessage");
        group.MapPost("/{id}/queue/run", RunQueueAsync).WithName("RunMessageQueue");
        group.MapPost("/{id}/cancel", Cancel).WithName("CancelTurn");
        group.MapPost("/{id}/tasks/{taskId}/stop", StopAgentTask).WithName("StopAgentTask");
        group.MapPost("/{id}/handoff", (string id, HandBack handBack, ClaimsPrincipal user, CancellationToken ct) => handBack.HandBackAsync(id, user.Actor(), ct))
            .WithName("HandOffSession");
        group.MapGet("/{id}/turns/{turn:int}", TurnChangesAsync).WithName("GetTurnChanges");
        group.MapPost("/{id}/turns/{turn:int}/review", ReviewAsync).WithName("ReviewTurn");
        group.MapGet("/{id}/turns/{turn:int}/rewind-preview", (string id, int turn, Rewinds rewinds, ClaimsPrincipal user, CancellationToken ct) => rewinds.PreviewAsync(id, turn, user.Actor(), ct))
            .WithName("PreviewRewind");
        group.MapPost("/{id}/turns/{turn:int}/rewind", RewindAsync).WithName("RewindSession");
        group.MapPost("/{id}/rewind/undo", UndoRewindAsync).WithName("UndoRewind");
        group.MapPost("/{id}/turns/{turn:int}/fork", ForkAsync).WithName("ForkSession");
        group.MapPost("/{id}/resume", Resume).WithName("ResumeSession");
        group.MapDelete("/{id}", Stop).WithName("StopSession");
        group.MapPost("/{id}/archive", (string id, SessionManager manager, Teams.Authority authority, ClaimsPrincipal user, CancellationToken cancellationToken) =>
            ArchiveAsync(id, true, manager, authority, user, cancellationToken)).WithName("ArchiveSession");
        group.MapPost("/{id}/unarchive", (string id, SessionManager manager, Teams.Authority authority, ClaimsPrincipal user, CancellationToken cancellationToken) =>
            ArchiveAsync(id, false, manager, authority, user, cancellationToken)).WithName("UnarchiveSession");
    }

    private static async Task<Created<SessionResponse>> Create(string projectId, CreateSessionRequest request, SessionManager manager, Projects.ProjectStore projects,
        Profiles.ProfileStore profiles, Teams.Authority authority, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var project = projects.Get(projectId);
        var profile = request.Profile is { } profileId ? profiles.Get(projectId, profileId) : null;
        var agent = request.Agent ?? profile?.Agent
            ?? throw ApiProblem.Validation("'agent' is required: one of the agent ids the server's health lists (e.g. \"claude-code\"), or a 'profile' that names one.");
        var mode = request.Mode ?? profile?.Mode ?? SessionModes.Ask;
        if (string.IsNullOrWhiteSpace(request.Prompt) && request.Attachments is { Count: > 0 })
        {
            throw ApiProblem.Validation("Attachments go with a prompt: write what the agent should do with them.");
        }

        // Checked before anything starts: a bad attachment never leaves a session behind.
        var prompt = string.IsNullOrWhiteSpace(request.Prompt) ? null : Attachments.Build(request.Prompt, request.Attachments);
        // Unsaid, the project's default decides (a project set to work on branches of their own).
        var worktree = request.Worktree ?? profile?.Worktree ?? project.WorktreeDefault ? new WorktreeChoice(request.Base) : null;
        if (worktree is null && request.Base is not null)
        {
            throw ApiProblem.Validation("'base' goes with \"worktree\": true (the branch or commit the session's worktree starts from).");
        }

        var session = await manager.CreateAsync(projectId, agent, prompt, request.Model ?? profile?.Model, mode, user.Actor(), cancellationToken, worktree,
            profile: profile is null ? null : new SessionProfile(profile.Name, profile.Instructions, profile.McpServers));
        return TypedResults.Created($"/api/sessions/{session.Id}", Answer(session, authority, user));
    }

    /// <summary>A session as the caller's answer: with what they may do with it now.</summary>
    private static SessionResponse Answer(Session session, Teams.Authority authority, ClaimsPrincipal user) =>
        SessionResponse.From(session) with { Offers = authority.OffersFor(user.Actor(), [session])[session.Id] };

    /// <summary>
    /// The sessions (or a project's), newest created first, a page at a time: <c>limit</c> of them (1 to 1,000, all 1,000 when
    /// not said), and with <c>before</c> (the last session of a page) the page after it. With <c>q</c>, those whose prompts
    /// match it, most recently active first.
    /// </summary>
    private static IEnumerable<SessionResponse> List(string? projectId, string? q, int? limit, string? before, SessionStore sessions, Teams.Authority authority,
        Goals.GoalStore goals, ClaimsPrincipal user)
    {
        if (limit is < 1 or > SessionStore.MaxPage)
        {
            throw ApiProblem.Validation($"'limit' is between 1 and {SessionStore.MaxPage}.");
        }

        if (q is null)
        {
            var after = before is null ? null : sessions.Get(before);
            var all = sessions.List(projectId, after, limit ?? SessionStore.MaxPage);
            var offers = authority.OffersFor(user.Actor(), all);
            var goalOf = goals.Of(all.Select(s => s.Id));
            return all.Select(s => SessionResponse.From(s) with { Offers = offers[s.Id], Goal = Goal(goalOf, s.Id) });
        }

        if (before is not null)
        {
            throw ApiProblem.Validation("'before' pages the session list, not a search: a search answers its best matches at once.");
        }

        if (q.Length > SessionStore.MaxQuery)
        {
            throw ApiProblem.Validation($"'q' is at most {SessionStore.MaxQuery} characters.");
        }

        var found = sessions.Search(q, projectId, Math.Min(limit ?? 100, 500));
        var offered = authority.OffersFor(user.Actor(), [.. found.Select(m => m.Session)]);
        var goalsOf = goals.Of(found.Select(m => m.Session.Id));
        return found.Select(m => SessionResponse.From(m.Session) with { Match = m.Snippet, Offers = offered[m.Session.Id], Goal = Goal(goalsOf, m.Session.Id) });
    }

    private static Goals.GoalResponse? Goal(IReadOnlyDictionary<string, Goals.Goal> goals, string sessionId) =>
        goals.TryGetValue(sessionId, out var goal) ? Goals.GoalResponse.From(goal) : null;

    private static SessionResponse Get(string id, SessionStore sessions, Teams.Authority authority, Goals.GoalStore goals, ClaimsPrincipal user)
    {
        var session = sessions.Get(id);
        return Answer(session, authority, user) with { Goal = goals.Find(session.Id) is { } goal ? Goals.GoalResponse.From(goal) : null };
    }

    private static async Task<SessionResponse> Update(string id, UpdateSessionRequest request, SessionManager manager, Teams.Authority authority,
        ClaimsPrincipal user, CancellationToken cancellationToken) =>
        Answer(await manager.SetModeAsync(id, request.Mode!, user.Actor(), cancellationToken), authority, user);

    private static async Task<SessionResponse> ArchiveAsync(string id, bool archived, SessionManager manager, Teams.Authority authority, ClaimsPrincipal user,
        CancellationToken cancellationToken) =>
        Answer(await manager.ArchiveAsync(id, archived, user.Actor(), cancellationToken), authority, user);

    /// <summary>Starts a turn between turns; while one runs, the message joins the session's queue (and the answer says so).</summary>
    private static async Task<Accepted<SendMessageResponse>> Send(string id, SendMessageRequest request, SessionManager manager, SessionStore sessions,
        MessageKeys keys, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var session = sessions.Get(id).Id;
        manager.EnsureMaySteer(session, user.Actor());
        if (request.ClientId is { } key && !keys.Claim(session, key))
        {
            // Taken before: its answer was lost on the way, or an outbox sent it again. Never twice to the agent.
            return TypedResults.Accepted($"/api/sessions/{id}", new SendMessageResponse(null, Duplicate: true));
        }

        try
        {
            var queued = await manager.SendAsync(session, Attachments.Build(request.Text!, request.Attachments), user.Actor(), cancellationToken);
            return TypedResults.Accepted($"/api/sessions/{id}", new SendMessageResponse(queued));
        }
        catch when (request.ClientId is { } taken)
        {
            keys.Release(session, taken);
            throw;
        }
    }

    private static async Task<Accepted<RunQueueResponse>> RunQueueAsync(string id, SessionQueues queues, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        TypedResults.Accepted($"/api/sessions/{id}/queue", new RunQueueResponse(await queues.RunQueueAsync(id, user.Actor(), cancellationToken)));

    /// <summary>Carries on, here, a conversation the agent keeps for the project's folder (one begun in a terminal).</summary>
    private static async Task<Created<SessionResponse>> ContinueAsync(string projectId, string agent, string conversationId, bool? force, Handoff handoff,
        Teams.Authority authority, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var session = await handoff.ContinueAsync(projectId, agent, conversationId, force == true, user.Actor(), cancellationToken);
        return TypedResults.Created($"/api/sessions/{session.Id}", Answer(session, authority, user));
    }

    /// <summary>What the turn changed in the project: files with line counts and the patch.</summary>
    private static Task<TurnChanges> TurnChangesAsync(string id, int turn, SessionStore sessions, Projects.ProjectStore projects, TurnReviews reviews,
        CancellationToken cancellationToken)
    {
        var session = sessions.Get(id);
        return reviews.ChangesAsync(session, projects.Get(session.ProjectId), turn, cancellationToken);
    }

    /// <summary>Puts the files back to before the turn and carries the conversation on from there in a new session (returned).</summary>
    /// <param name="others">keep or discard the files changed outside the agent's turns since; absent: refused while there are any.</param>
    private static async Task<Created<SessionResponse>> RewindAsync(string id, int turn, string? others, Rewinds rewinds, Teams.Authority authority,
        ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var session = await rewinds.RewindAsync(id, turn, others, user.Actor(), cancellationToken);
        return TypedResults.Created($"/api/sessions/{session.Id}", Answer(session, authority, user));
    }

    /// <summary>Puts the files back as they were before the rewind that made this session; a new session carries the rewound one's conversation on.</summary>
    private static async Task<Created<SessionResponse>> UndoRewindAsync(string id, RewindUndo undo, Teams.Authority authority, ClaimsPrincipal user,
        CancellationToken cancellationToken)
    {
        var session = await undo.UndoAsync(id, user.Actor(), cancellationToken);
        return TypedResults.Created($"/api/sessions/{session.Id}", Answer(session, authority, user));
    }

    /// <summary>A new session on a branch of its own from the turn's opening files and the conversation before it; the original stays as it is.</summary>
    private static async Task<Created<SessionResponse>> ForkAsync(string id, int turn, Rewinds rewinds, Teams.Authority authority, ClaimsPrincipal user,
        CancellationToken cancellationToken)
    {
        var session = await rewinds.ForkAsync(id, turn, user.Actor(), cancellationToken);
        return TypedResults.Created($"/api/sessions/{session.Id}", Answer(session, authority, user));
    }

    /// <summary>"Looks good" or "ask for changes": ledgered, and sent to the agent as the owner's next message.</summary>
    private static async Task<Accepted> ReviewAsync(string id, int turn, TurnReviewRequest request, SessionStore sessions, TurnReviews reviews,
        SessionManager manager, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        // Asking for changes is steering: refused before the review is recorded, as sending the message would be.
        manager.EnsureMaySteer(id, user.Actor());
        var message = reviews.Review(sessions.Get(id), turn, request, user.Actor());
        await manager.SendAsync(id, OwnerMessage.FromText(message), user.Actor(), cancellationToken);
        return TypedResults.Accepted($"/api/sessions/{id}");
    }

    private static async Task<Accepted> Cancel(string id, SessionManager manager, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        await manager.CancelAsync(id, user.Actor(), cancellationToken);
        return TypedResults.Accepted($"/api/sessions/{id}");
    }

    /// <summary>Stops one subagent (or background command) of the running agent, the turn going on; its end comes as task.status.</summary>
    private static async Task<Accepted> StopAgentTask(string id, string taskId, SessionManager manager, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        await manager.StopAgentTaskAsync(id, taskId, user.Actor(), cancellationToken);
        return TypedResults.Accepted($"/api/sessions/{id}");
    }

    private static async Task<Accepted<SessionResponse>> Resume(string id, SessionManager manager, Teams.Authority authority, ClaimsPrincipal user,
        CancellationToken cancellationToken)
    {
        var session = await manager.ResumeAsync(id, user.Actor(), cancellationToken);
        return TypedResults.Accepted($"/api/sessions/{id}", Answer(session, authority, user));
    }

    private static async Task<SessionResponse> Stop(string id, SessionManager manager, Teams.Authority authority, ClaimsPrincipal user,
        CancellationToken cancellationToken) =>
        Answer(await manager.StopAsync(id, user.Actor(), cancellationToken), authority, user);
}
