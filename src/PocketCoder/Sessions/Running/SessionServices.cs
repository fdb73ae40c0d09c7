using PocketCoder.Approvals;
using PocketCoder.Mcp;
using PocketCoder.Realtime;
using PocketCoder.Server;

namespace PocketCoder.Sessions.Running;

/// <summary>What every live session shares: one record, so that starting a session passes it rather than each of these.</summary>
public sealed record SessionServices(
    SessionStore Sessions,
    EventLog Events,
    Gatekeeper Gatekeeper,
    TurnReviews Reviews,
    Sandboxing Sandboxing,
    McpServerStore Mcp,
    ModelLists.ModelCatalog Models,
    MessageQueue Queue,
    Teams.Budgets Budgets,
    TimeProvider Clock,
    AgentSlots Slots,
    PocketCoderOptions Options,
    Network.Egress Egress,
    ILogger<SessionRunner> Logger);
