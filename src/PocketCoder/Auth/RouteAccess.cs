namespace PocketCoder.Auth;

/// <summary>
/// Who may use each route, by its name (the OpenAPI operation id): one table to read, and to audit against
/// docs/security.md. A route missing here is refused to everyone (<see cref="RoleGuard"/>) and fails the role matrix test.
/// Reading is open to every role; changing a project's work needs an operator; a shell of one's own an approver; what
/// changes who may do what, or what runs unasked (rules, MCP servers, profiles, the sandbox, bridges, people), an owner.
/// </summary>
public static class RouteAccess
{
    private static AccessRule Read(ProjectFrom from = ProjectFrom.None, string value = "id") => new(Access.Read, from, value);

    private static AccessRule Steer(ProjectFrom from, string value = "id") => new(Access.Steer, from, value);

    private static readonly AccessRule Own = new(Access.Own);

    private static readonly AccessRule ProjectRead = Read(ProjectFrom.ProjectRoute);
    private static readonly AccessRule ProjectSteer = Steer(ProjectFrom.ProjectRoute);
    private static readonly AccessRule ProjectShell = new(Access.Shell, ProjectFrom.ProjectRoute);
    private static readonly AccessRule SessionSteer = Steer(ProjectFrom.SessionRoute);

    /// <summary>
    /// What a watch link's page may reach (docs/security.md, "A link to watch"): what it watches, and its one session's stream,
    /// transcript pages and changes (a turn's review, the branch's diff). No decision, no file beyond those changes, no other
    /// session, no other route: everything else is refused (<c>WATCH_FORBIDDEN</c>), checked by <see cref="RoleGuard"/> before any role.
    /// </summary>
    public static IReadOnlySet<string> Watchable { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "SessionEvents", "SessionEventPage", "GetTurnChanges", "GetWorktreeDiff",
    };

    /// <param name="sessionOfRoute">The route's <c>id</c> value (the session, on every watchable route).</param>
    public static bool WatcherMay(string route, string? sessionOfRoute, string watchedSession) =>
        route == "GetWatchedSession" || (Watchable.Contains(route) && string.Equals(sessionOfRoute, watchedSession, StringComparison.Ordinal));

    public static IReadOnlyDictionary<string, AccessRule> ByRoute { get; } = new Dictionary<string, AccessRule>(StringComparer.Ordinal)
    {
        // The team and its devices. Revoking one's own device, and inviting one's own next device, are checked in the handler.
        ["ListDevices"] = Read(),
        ["RevokeDevice"] = Read(),
        ["ListPeople"] = Read(),
        ["Me"] = Read(),
        ["AddPerson"] = Own,
        ["ChangePerson"] = Own,
        ["RevokePerson"] = Own,
        ["InvitePersonDevice"] = Read(),
        // Who reaches the machine now (addresses included), and the lockdown that cuts them all: owners. Only the machine's own
        // terminal lifts a lockdown, from its data folder; no route does.
        ["ListConnections"] = Own,
        ["Lockdown"] = Own,
        // Passkeys: each person's own (checked in the handler); owners list and revoke anyone's. A step-up's challenge is asked
        // by whoever is about to decide; the decision itself is held to the table as ever.
        ["BeginPasskeyRegistration"] = Read(),
        ["RegisterPasskey"] = Read(),
        ["ListPasskeys"] = Read(),
        ["RevokePasskey"] = Read(),
        ["BeginStepUp"] = new(Access.Decide, ProjectFrom.ApprovalRoute),
        ["ListMembers"] = Read(ProjectFrom.ProjectRoute, "projectId"),
        ["SetMember"] = Own,
        ["ClearMember"] = Own,

        // Projects, and what decides what runs in them.
        ["CreateProject"] = Own,
        ["ListProjects"] = Read(),
        ["GetProject"] = ProjectRead,
        ["UpdateProject"] = Own,
        ["DeleteProject"] = Own,
        ["ListFolders"] = Own,
        ["SuggestFolders"] = Own,
        ["GetTeamPolicy"] = Read(ProjectFrom.ProjectRoute, "projectId"),
        ["SetTeamPolicy"] = Own,
        ["GetBudget"] = Read(ProjectFrom.ProjectRoute, "projectId"),
        ["ListRules"] = Read(ProjectFrom.ProjectRoute, "projectId"),
        ["AddRule"] = Own,
        ["RemoveRule"] = Own,
        ["ChangeRule"] = Own,
        ["PreviewRule"] = Own,
        ["ListProfiles"] = Read(ProjectFrom.ProjectRoute, "projectId"),
        ["CreateProfile"] = Own,
        ["UpdateProfile"] = Own,
        ["DeleteProfile"] = Own,
        // Listing an agent's models starts it once, in an empty folder, where no session has named them yet; asking again, an owner.
        ["ListAgentModels"] = Read(),
        ["RefreshAgentModels"] = Own,
        ["ListMcpServers"] = Read(ProjectFrom.ProjectRoute, "projectId"),
        ["AddMcpServer"] = Own,
        ["ChangeMcpServer"] = Own,
        ["RemoveMcpServer"] = Own,

        // Approvals: the gatekeeper checks the project's policy for the call's kind (and a budget's raise).
        ["ListApprovals"] = Read(),
        // A look starts a paused agent ahead of the decision only for whoever may decide the call (checked by its offers).
        ["LookAtApproval"] = Read(ProjectFrom.ApprovalRoute),
        ["GetApproval"] = Read(ProjectFrom.ApprovalRoute),
        ["DecideApproval"] = new(Access.Decide, ProjectFrom.ApprovalRoute),
        ["AnswerQuestion"] = new(Access.Decide, ProjectFrom.ApprovalRoute),
        // Several calls, perhaps of several projects, each through the gatekeeper as above: a call not theirs to decide is
        // refused in its own result (ROLE_FORBIDDEN, a viewer's every one), the others decided.
        ["DecideApprovals"] = Read(),

        // Sessions. Choosing a mode that allows calls unasked is checked against the project's policy too.
        // The conversations the owner had with their agents in a terminal are the owner's own: listing and carrying one on, owners.
        ["ListAgentConversations"] = Own,
        ["ContinueAgentConversation"] = Own,
        ["CreateSession"] = Steer(ProjectFrom.ProjectRoute, "projectId"),
        ["ListSessions"] = Read(),
        // The machine's agents: how many may run at once is the owner's to say (it decides who waits).
        ["GetResources"] = Read(),
        ["SetAgentLimit"] = Own,
        ["SetPerPersonAgentLimit"] = Own,
        ["GetSession"] = Read(ProjectFrom.SessionRoute),
        // Previews: who may open or close one is the decision-rights table's act (OpenPreview), asked in the handler.
        ["ListSessionPorts"] = Read(ProjectFrom.SessionRoute),
        ["OpenPreview"] = Read(ProjectFrom.SessionRoute),
        ["ListPreviews"] = Read(),
        ["ClosePreview"] = Read(),
        ["UpdateSession"] = SessionSteer,
        ["SendMessage"] = SessionSteer,
        ["GetMessageQueue"] = Read(ProjectFrom.SessionRoute),
        ["EditQueuedMessage"] = SessionSteer,
        ["RemoveQueuedMessage"] = SessionSteer,
        ["ConfirmQueuedMessage"] = SessionSteer,
        ["RunMessageQueue"] = SessionSteer,
        ["CancelTurn"] = SessionSteer,
        ["StopAgentTask"] = SessionSteer,
        ["HandOffSession"] = SessionSteer,
        ["GetTurnChanges"] = Read(ProjectFrom.SessionRoute),
        ["ReviewTurn"] = SessionSteer,
        // Puts files back and lets the agent carry on: whoever may steer the session (and the decision rights, in Rewinds).
        ["RewindSession"] = SessionSteer,
        ["PreviewRewind"] = SessionSteer,
        ["UndoRewind"] = SessionSteer,
        ["ForkSession"] = SessionSteer,
        ["ResumeSession"] = SessionSteer,
        ["StopSession"] = SessionSteer,
        ["ArchiveSession"] = SessionSteer,
        ["UnarchiveSession"] = SessionSteer,
        // A session's goal: setting and moving it is steering (checked against the session's mode too); caps above the
        // defaults are a budget raise, and a check command a command of one's own, both asked of the rights table.
        ["GetSessionGoal"] = Read(ProjectFrom.SessionRoute),
        ["SetSessionGoal"] = SessionSteer,
        ["ClearSessionGoal"] = SessionSteer,
        ["PauseSessionGoal"] = SessionSteer,
        ["ResumeSessionGoal"] = SessionSteer,
        ["ContinueSessionGoal"] = SessionSteer,
        ["StopSessionGoal"] = SessionSteer,
        ["SessionEvents"] = Read(ProjectFrom.SessionRoute),
        ["SessionEventPage"] = Read(ProjectFrom.SessionRoute),
        ["AllEvents"] = Read(),

        // Backlog and schedules: they start sessions later, on their author's authority.
        ["ListTasks"] = ProjectRead,
        ["AddTask"] = ProjectSteer,
        ["GetTask"] = Read(ProjectFrom.TaskRoute, "taskId"),
        ["RemoveTask"] = Steer(ProjectFrom.TaskRoute, "taskId"),
        ["ConfirmTask"] = Steer(ProjectFrom.TaskRoute, "taskId"),
        ["ListSchedules"] = ProjectRead,
        ["AddSchedule"] = ProjectSteer,
        ["GetSchedule"] = Read(ProjectFrom.ScheduleRoute, "scheduleId"),
        ["UpdateSchedule"] = Steer(ProjectFrom.ScheduleRoute, "scheduleId"),
        ["DeleteSchedule"] = Steer(ProjectFrom.ScheduleRoute, "scheduleId"),
        ["RunScheduleNow"] = Steer(ProjectFrom.ScheduleRoute, "scheduleId"),

        // Worktrees, files and git.
        ["GetWorktree"] = Read(ProjectFrom.SessionRoute),
        ["GetWorktreeDiff"] = Read(ProjectFrom.SessionRoute),
        ["MergeWorktree"] = SessionSteer,
        ["RemoveWorktree"] = SessionSteer,
        ["ListWorktrees"] = ProjectRead,
        ["ListWorktreeOrphans"] = ProjectRead,
        ["CleanWorktreeOrphans"] = ProjectSteer,
        ["ListFiles"] = ProjectRead,
        ["ReadFile"] = ProjectRead,
        ["WriteFile"] = ProjectSteer,
        ["GitStatus"] = ProjectRead,
        ["GitDiff"] = ProjectRead,
        ["GitBranches"] = ProjectRead,
        ["GitFileBase"] = ProjectRead,
        ["GitLog"] = ProjectRead,
        ["GitCommitDetail"] = ProjectRead,
        ["GitIdentity"] = ProjectRead,
        ["GitSetIdentity"] = Own,
        ["GitStage"] = ProjectSteer,
        ["GitUnstage"] = ProjectSteer,
        ["GitCommit"] = ProjectSteer,
        ["GitCheckout"] = ProjectSteer,
        ["GitCreateBranch"] = ProjectSteer,
        ["GitDiscard"] = ProjectSteer,
        ["GitPush"] = ProjectSteer,

        // A shell of one's own, outside every agent: deciding a shell call alone.
        ["RunCommand"] = ProjectShell,
        ["CommandHistory"] = ProjectRead,
        ["GetCommand"] = Read(ProjectFrom.CommandRoute),
        ["CommandEvents"] = Read(ProjectFrom.CommandRoute),
        ["CancelCommand"] = new(Access.Shell, ProjectFrom.CommandRoute),
        ["OpenTerminal"] = ProjectShell,
        ["TerminalScreen"] = ProjectShell,
        ["TerminalInput"] = ProjectShell,
        ["ResizeTerminal"] = ProjectShell,
        ["TerminalEvents"] = ProjectShell,
        ["CloseTerminal"] = ProjectShell,

        // Chat bridges: a bound chat steers a project and shows its approvals.
        ["ListBridges"] = Own,
        ["BindChannel"] = Own,
        ["UnbindChannel"] = Own,

        // A device's own notifications: every role has some (a viewer hears a turn finish; only deciders hear approvals).
        ["GetNotifications"] = Read(),
        ["SaveNotificationSettings"] = Read(),
        ["SubscribeWebPush"] = Read(),
        ["UnsubscribeWebPush"] = Read(),
        ["SetNtfy"] = Read(),
        ["RemoveNtfy"] = Read(),
        ["TestNotification"] = Read(),
        ["ReportPresence"] = Read(),
        // A device's own push relays, so that another machine can reach its subscription through this one (the post to a
        // relay itself, RelayPush, takes no device: its secret is its credential).
        ["CreatePushRelay"] = Read(),
        ["ListPushRelays"] = Read(),
        ["RevokePushRelay"] = Read(),

        // A link to watch one session: who may make, list and revoke one is the decision-rights table's act (ShareWatch),
        // asked in the handler. What its page may reach is Watchable, above; the page itself asks what it watches.
        ["CreateWatchLink"] = Read(ProjectFrom.SessionRoute),
        ["ListWatchLinks"] = Read(),
        ["RevokeWatchLink"] = Read(),
        ["GetWatchedSession"] = Read(),

        // Costs at a glance: every paired person reads every session and its usage events already, so the sums of them too.
        ["GetCosts"] = Read(),
        ["ExportCosts"] = Read(),

        // The ledger: anyone may check it (an auditor is a viewer).
        ["ReadLedger"] = Read(),
        ["VerifyLedger"] = Read(),
        ["LedgerHead"] = Read(),
        ["LedgerKey"] = Read(),
        ["ApiDocument"] = Read(),
    };
}
