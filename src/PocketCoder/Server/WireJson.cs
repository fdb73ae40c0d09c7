using System.Text.Json;
using System.Text.Json.Serialization;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Health;
using PocketCoder.Ledger;
using PocketCoder.Projects;
using PocketCoder.Sessions;

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
[JsonSerializable(typeof(LedgerPage))]
[JsonSerializable(typeof(LedgerVerification))]
internal sealed partial class WireJson : JsonSerializerContext;
