using System.Text.Json;
using System.Text.Json.Serialization;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Health;
using PocketCoder.Ledger;
using PocketCoder.Notifications;
using PocketCoder.Projects;
using PocketCoder.Sessions;
using PocketCoder.Workspace.Commands;
using PocketCoder.Workspace.Files;
using PocketCoder.Workspace.Git;
using PocketCoder.Workspace.Terminal;

namespace PocketCoder.Server;

/// <summary>Source-generated serialization for every type that crosses the HTTP boundary.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(PairRequest))]
[JsonSerializable(typeof(PairResponse))]
[JsonSerializable(typeof(IEnumerable<DeviceResponse>))]
[JsonSerializable(typeof(CreateProjectRequest))]
[JsonSerializable(typeof(UpdateProjectRequest))]
[JsonSerializable(typeof(ProjectResponse))]
[JsonSerializable(typeof(IEnumerable<ProjectResponse>))]
[JsonSerializable(typeof(CreateSessionRequest))]
[JsonSerializable(typeof(SendMessageRequest))]
[JsonSerializable(typeof(UpdateSessionRequest))]
[JsonSerializable(typeof(SessionResponse))]
[JsonSerializable(typeof(IEnumerable<SessionResponse>))]
[JsonSerializable(typeof(DecisionRequest))]
[JsonSerializable(typeof(DecisionResponse))]
[JsonSerializable(typeof(ApprovalResponse))]
[JsonSerializable(typeof(IEnumerable<ApprovalResponse>))]
[JsonSerializable(typeof(CreateRuleRequest))]
[JsonSerializable(typeof(RuleResponse))]
[JsonSerializable(typeof(IEnumerable<RuleResponse>))]
[JsonSerializable(typeof(RulePreview))]
[JsonSerializable(typeof(LedgerPage))]
[JsonSerializable(typeof(LedgerHead))]
[JsonSerializable(typeof(LedgerVerification))]
[JsonSerializable(typeof(DirectoryListing))]
[JsonSerializable(typeof(FileContent))]
[JsonSerializable(typeof(FileWritten))]
[JsonSerializable(typeof(GitStatusResponse))]
[JsonSerializable(typeof(GitDiffResponse))]
[JsonSerializable(typeof(GitBranchesResponse))]
[JsonSerializable(typeof(GitPathsRequest))]
[JsonSerializable(typeof(GitCommitRequest))]
[JsonSerializable(typeof(GitCommitResponse))]
[JsonSerializable(typeof(GitRefRequest))]
[JsonSerializable(typeof(GitBranchRequest))]
[JsonSerializable(typeof(GitPushResponse))]
[JsonSerializable(typeof(GitFileResponse))]
[JsonSerializable(typeof(GitOkResponse))]
[JsonSerializable(typeof(GitLogResponse))]
[JsonSerializable(typeof(GitCommitDetail))]
[JsonSerializable(typeof(GitDiscardRequest))]
[JsonSerializable(typeof(TurnChanges))]
[JsonSerializable(typeof(IReadOnlyList<AgentConversationResponse>))]
[JsonSerializable(typeof(HandoffResponse))]
[JsonSerializable(typeof(TurnReviewRequest))]
[JsonSerializable(typeof(GitIdentity))]
[JsonSerializable(typeof(RunCommandRequest))]
[JsonSerializable(typeof(CommandStarted))]
[JsonSerializable(typeof(CommandResponse))]
[JsonSerializable(typeof(IReadOnlyList<CommandResponse>))]
[JsonSerializable(typeof(CommandOutputEvent))]
[JsonSerializable(typeof(CommandExitEvent))]
[JsonSerializable(typeof(OpenTerminalRequest))]
[JsonSerializable(typeof(TerminalInputRequest))]
[JsonSerializable(typeof(TerminalResizeRequest))]
[JsonSerializable(typeof(TerminalScreen))]
[JsonSerializable(typeof(TerminalResponse))]
[JsonSerializable(typeof(NotificationsResponse))]
[JsonSerializable(typeof(NotificationSettings))]
[JsonSerializable(typeof(WebPushSubscriptionRequest))]
[JsonSerializable(typeof(NtfyChannelRequest))]
[JsonSerializable(typeof(ChannelResponse))]
[JsonSerializable(typeof(PresenceRequest))]
[JsonSerializable(typeof(IEnumerable<DeliveryResponse>))]
[JsonSerializable(typeof(string))]
internal sealed partial class WireJson : JsonSerializerContext;
