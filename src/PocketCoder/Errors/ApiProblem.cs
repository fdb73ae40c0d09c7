namespace PocketCoder.Errors;

/// <summary>
/// A failure the caller can act on. Thrown anywhere below an endpoint and written once, by
/// <see cref="ProblemExceptionHandler"/>, as problem+json with a stable <see cref="Code"/>.
/// </summary>
public sealed class ApiProblem(int status, string code, string detail) : Exception(detail)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    /// <summary>For 429 and 503: when the client may try again (sent as Retry-After).</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Further fields for the client to act on (written beside <c>code</c>): strings, or lists of strings.</summary>
    public IReadOnlyDictionary<string, object?>? Fields { get; init; }

    public static ApiProblem BadRequest(string code, string detail) => new(StatusCodes.Status400BadRequest, code, detail);

    public static ApiProblem Validation(string detail) => new(StatusCodes.Status400BadRequest, ErrorCodes.ValidationFailed, detail);

    public static ApiProblem NotFound(string code, string detail) => new(StatusCodes.Status404NotFound, code, detail);

    public static ApiProblem Conflict(string code, string detail) => new(StatusCodes.Status409Conflict, code, detail);
}

/// <summary>Every stable error code the API returns. Clients switch on these; never rename one.</summary>
public static class ErrorCodes
{
    public const string ValidationFailed = "VALIDATION_FAILED";
    public const string InvalidJson = "INVALID_JSON";
    public const string BadRequest = "BAD_REQUEST";
    public const string BodyTooLarge = "BODY_TOO_LARGE";
    public const string UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE";
    public const string Unauthorized = "UNAUTHORIZED";
    public const string PairingCodeInvalid = "PAIRING_CODE_INVALID";
    public const string RateLimited = "RATE_LIMITED";
    public const string NotFound = "NOT_FOUND";
    public const string MethodNotAllowed = "METHOD_NOT_ALLOWED";
    public const string DeviceNotFound = "DEVICE_NOT_FOUND";
    public const string ProjectNotFound = "PROJECT_NOT_FOUND";
    public const string ProjectExists = "PROJECT_EXISTS";
    public const string PathNotFound = "PATH_NOT_FOUND";
    public const string NotADirectory = "NOT_A_DIRECTORY";
    public const string ProjectPathTooBroad = "PROJECT_PATH_TOO_BROAD";
    public const string SessionNotFound = "SESSION_NOT_FOUND";
    public const string SessionNotActive = "SESSION_NOT_ACTIVE";
    public const string GoalNotFound = "GOAL_NOT_FOUND";
    public const string GoalStateConflict = "GOAL_STATE_CONFLICT";
    public const string PortNotListening = "PORT_NOT_LISTENING";
    public const string PreviewNotFound = "PREVIEW_NOT_FOUND";
    public const string UnknownAgent = "UNKNOWN_AGENT";
    public const string AgentUnavailable = "AGENT_UNAVAILABLE";
    public const string AgentSlotsFull = "AGENT_SLOTS_FULL";
    public const string SandboxUnavailable = "SANDBOX_UNAVAILABLE";
    public const string ApprovalNotFound = "APPROVAL_NOT_FOUND";
    public const string ApprovalAlreadyDecided = "APPROVAL_ALREADY_DECIDED";
    public const string DecisionKeyReused = "DECISION_KEY_REUSED";
    public const string EditedInputUnsupported = "EDITED_INPUT_UNSUPPORTED";
    public const string NotShownWhole = "NOT_SHOWN_WHOLE";
    public const string QuestionNeedsAnswers = "QUESTION_NEEDS_ANSWERS";
    public const string NotAQuestion = "NOT_A_QUESTION";
    public const string RoleForbidden = "ROLE_FORBIDDEN";
    public const string RouteWithoutRole = "ROUTE_WITHOUT_ROLE";
    public const string TwoPersonAllowOnce = "TWO_PERSON_ALLOW_ONCE";
    public const string AlreadyAllowedByYou = "ALREADY_ALLOWED_BY_YOU";
    public const string PersonNotFound = "PERSON_NOT_FOUND";
    public const string PersonRevoked = "PERSON_REVOKED";

    /// <summary>Pairing while an owner has locked the machine down (only its own terminal lifts it).</summary>
    public const string LockedDown = "LOCKED_DOWN";
    public const string LastOwner = "LAST_OWNER";

    /// <summary>An act the decision-rights table holds for a fresh passkey assertion, asked without one (403; the decision route adds a challenge for it: verify, then ask again).</summary>
    public const string StepUpRequired = "STEP_UP_REQUIRED";

    /// <summary>An assertion that proves nothing here: unknown or spent challenge, another approval's or input's, a bad signature, origin or key.</summary>
    public const string StepUpInvalid = "STEP_UP_INVALID";

    /// <summary>A passkey's registration that does not verify (wrong challenge or origin, no user verification, not ES256).</summary>
    public const string PasskeyInvalid = "PASSKEY_INVALID";
    public const string PasskeyNotFound = "PASSKEY_NOT_FOUND";
    public const string ModeNotAllowed = "MODE_NOT_ALLOWED";

    /// <summary>Sending to (queueing in, reviewing, resuming) a session that runs calls unasked which the sender could not allow alone.</summary>
    public const string SteerNotAllowed = "STEER_NOT_ALLOWED";
    public const string RuleNotFound = "RULE_NOT_FOUND";

    /// <summary>An <c>allow_always</c> whose confirmed pattern does not cover the call it allows.</summary>
    public const string PatternMissesCall = "PATTERN_MISSES_CALL";
    public const string InvalidCursor = "INVALID_CURSOR";
    public const string OutsideProjectRoot = "OUTSIDE_PROJECT_ROOT";
    public const string OutsideHome = "OUTSIDE_HOME";
    public const string FolderUnreadable = "FOLDER_UNREADABLE";
    public const string InvalidPath = "INVALID_PATH";
    public const string FileNotFound = "FILE_NOT_FOUND";
    public const string FileTooLarge = "FILE_TOO_LARGE";
    public const string NotAFile = "NOT_A_FILE";
    public const string NotARegularFile = "NOT_A_REGULAR_FILE";
    public const string BinaryFile = "BINARY_FILE";
    public const string GitNotInitialized = "GIT_NOT_INITIALIZED";
    public const string InvalidRef = "INVALID_REF";
    public const string GitFailed = "GIT_FAILED";
    public const string GitIdentityMissing = "GIT_IDENTITY_MISSING";
    public const string GitRedirected = "GIT_REDIRECTED";
    public const string GitProgramRefused = "GIT_PROGRAM_REFUSED";
    public const string WorktreeNotFound = "WORKTREE_NOT_FOUND";
    public const string WorktreeUnavailable = "WORKTREE_UNAVAILABLE";
    public const string MergeConflict = "MERGE_CONFLICT";
    public const string WorktreeMoved = "WORKTREE_MOVED";
    public const string HostNotAllowed = "HOST_NOT_ALLOWED";
    public const string CrossSiteRequest = "CROSS_SITE_REQUEST";
    public const string OriginNotPaired = "ORIGIN_NOT_PAIRED";
    public const string OriginInvalid = "ORIGIN_INVALID";
    public const string NothingToCommit = "NOTHING_TO_COMMIT";
    public const string NoUpstream = "NO_UPSTREAM";
    public const string CommandNotFound = "COMMAND_NOT_FOUND";
    public const string CommandNotRunning = "COMMAND_NOT_RUNNING";
    public const string CommandTimeout = "COMMAND_TIMEOUT";
    public const string TerminalNotFound = "TERMINAL_NOT_FOUND";
    public const string TooManyStreams = "TOO_MANY_STREAMS";
    public const string TerminalFailed = "TERMINAL_FAILED";
    public const string PushEndpointInvalid = "PUSH_ENDPOINT_INVALID";
    public const string PushEndpointNotAllowed = "PUSH_ENDPOINT_NOT_ALLOWED";
    public const string PushKeysInvalid = "PUSH_KEYS_INVALID";
    public const string NoNotificationChannel = "NO_NOTIFICATION_CHANNEL";
    public const string PushRelayNotFound = "PUSH_RELAY_NOT_FOUND";
    public const string PushRelaySecretInvalid = "PUSH_RELAY_SECRET_INVALID";
    public const string PushRelayGone = "PUSH_RELAY_GONE";
    public const string PushRelayBodyInvalid = "PUSH_RELAY_BODY_INVALID";
    public const string PushRelayFailed = "PUSH_RELAY_FAILED";
    public const string TooManyPushRelays = "TOO_MANY_PUSH_RELAYS";
    public const string FileChanged = "FILE_CHANGED";
    public const string TurnNotFound = "TURN_NOT_FOUND";
    public const string FilesChangedSince = "FILES_CHANGED_SINCE";
    public const string RestoreFailed = "RESTORE_FAILED";
    public const string RewindNotFound = "REWIND_NOT_FOUND";
    public const string UndoExpired = "UNDO_EXPIRED";
    public const string ConversationNotFound = "CONVERSATION_NOT_FOUND";
    public const string ConversationInUse = "CONVERSATION_IN_USE";
    public const string ConversationMaybeInUse = "CONVERSATION_MAYBE_IN_USE";
    public const string SessionBusy = "SESSION_BUSY";
    public const string QueueFull = "QUEUE_FULL";
    public const string QueuedMessageNotFound = "QUEUED_MESSAGE_NOT_FOUND";
    public const string TaskNotFound = "TASK_NOT_FOUND";
    public const string AgentTaskNotRunning = "AGENT_TASK_NOT_RUNNING";
    public const string AgentTaskStopUnsupported = "AGENT_TASK_STOP_UNSUPPORTED";
    public const string TaskNotWaiting = "TASK_NOT_WAITING";
    public const string TaskNotHeld = "TASK_NOT_HELD";
    public const string BacklogFull = "BACKLOG_FULL";
    public const string ScheduleNotFound = "SCHEDULE_NOT_FOUND";
    public const string ScheduleLimit = "SCHEDULE_LIMIT";
    public const string ScheduleHeld = "SCHEDULE_HELD";
    public const string DecideOnItsOwn = "DECIDE_ON_ITS_OWN";
    public const string BridgeChannelNotFound = "BRIDGE_CHANNEL_NOT_FOUND";
    public const string BridgeNotFound = "BRIDGE_NOT_FOUND";
    public const string ProfileNotFound = "PROFILE_NOT_FOUND";
    public const string ProfileExists = "PROFILE_EXISTS";
    public const string TooManyProfiles = "TOO_MANY_PROFILES";
    public const string McpServerNotFound = "MCP_SERVER_NOT_FOUND";
    public const string McpServerExists = "MCP_SERVER_EXISTS";
    public const string McpServerChanged = "MCP_SERVER_CHANGED";
    public const string McpServerDeclared = "MCP_SERVER_DECLARED";
    public const string TooManyMcpServers = "TOO_MANY_MCP_SERVERS";
    public const string McpSecretsUnreadable = "MCP_SECRETS_UNREADABLE";
    public const string BridgeChatNotFound = "BRIDGE_CHAT_NOT_FOUND";
    public const string AttachmentInvalid = "ATTACHMENT_INVALID";
    public const string AttachmentTooLarge = "ATTACHMENT_TOO_LARGE";
    public const string AttachmentUnsupported = "ATTACHMENT_UNSUPPORTED";
    public const string CostPeriodInvalid = "COST_PERIOD_INVALID";
    public const string CostPeriodTooLong = "COST_PERIOD_TOO_LONG";
    public const string CostGroupingInvalid = "COST_GROUPING_INVALID";
    public const string WatchForbidden = "WATCH_FORBIDDEN";
    public const string WatchLinkInvalid = "WATCH_LINK_INVALID";
    public const string WatchLinkNotFound = "WATCH_LINK_NOT_FOUND";
    public const string WatchOnly = "WATCH_ONLY";
    public const string Internal = "INTERNAL_ERROR";
}
