using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text.Json.Nodes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Ledger;
using PocketCoder.Network;
using PocketCoder.Sessions;
using Microsoft.AspNetCore.Http.HttpResults;
using PocketCoder.Teams;

namespace PocketCoder.Previews;

/// <summary>The ports a session's sandbox listens on, and whether it runs sandboxed (only a sandbox's ports are found).</summary>
public sealed record SessionPortsResponse(bool Sandboxed, IReadOnlyList<ListeningPort> Ports);

public sealed record OpenPreviewRequest([property: Range(1, 65535)] int Port);

/// <summary>An opened preview: the grant, and the address that opens it once (the one-time code, good for a minute).</summary>
public sealed record OpenedPreviewResponse(PreviewGrant Preview, string Url);

/// <summary>Live previews (docs/security.md, "Previews"): find a session's ports, open one on the preview origin, list and close them.</summary>
public static class PreviewsApi
{
    /// <summary>The grants and the proxy; the <see cref="PreviewOrigin"/> is registered as the instance Kestrel bound.</summary>
    public static IServiceCollection AddPreviews(this IServiceCollection services) => services
        .AddSingleton<PreviewGrants>().AddSingleton<PreviewProxy>();

    /// <summary>First in the pipeline: every request on the preview origin is a preview's, and goes nowhere else.</summary>
    public static IApplicationBuilder UsePreviewOrigin(this WebApplication app)
    {
        var origin = app.Services.GetRequiredService<PreviewOrigin>();
        var proxy = app.Services.GetRequiredService<PreviewProxy>();
        var grants = app.Services.GetRequiredService<PreviewGrants>();
        var egress = app.Services.GetRequiredService<Egress>();
        // A preview ends with its session's sandbox: its grants void, its connections closed.
        egress.SessionClosed += sessionId => grants.CloseSession(sessionId);
        return app.Use((context, next) => !origin.Serves(context) ? next(context)
            : origin.HubHost is { } hub && context.Connection.LocalIpAddress is null && PreviewOrigin.Misdirected(context, hub)
                ? PreviewProxy.RefuseAsync(context, StatusCodes.Status421MisdirectedRequest, "PREVIEW_MISDIRECTED",
                    "This connection was made for another name: open the preview on a connection of its own.")
                : proxy.HandleAsync(context));
    }

    public static void MapPreviews(this IEndpointRouteBuilder api)
    {
        api.MapGet("/sessions/{id}/ports", Ports).WithName("ListSessionPorts");
        api.MapPost("/sessions/{id}/previews", Open).WithName("OpenPreview");
        api.MapGet("/previews", (PreviewGrants grants) => grants.List()).WithName("ListPreviews");
        api.MapDelete("/previews/{previewId}", Close).WithName("ClosePreview");
    }

    private static SessionPortsResponse Ports(string id, SessionStore sessions, Egress egress)
    {
        sessions.Get(id);
        var doors = egress.DoorsOf(id);
        return new SessionPortsResponse(doors.Count > 0, Found(doors));
    }

    private static List<ListeningPort> Found(IReadOnlyList<EgressDoor> doors) =>
        [.. doors.Where(d => d.AgentPid > 0).SelectMany(d => ListeningPorts.InSandbox(d.AgentPid)).DistinctBy(p => p.Port).OrderBy(p => p.Port)];

    private static OpenedPreviewResponse Open(string id, OpenPreviewRequest request, HttpRequest http, SessionStore sessions, Egress egress,
        Authority authority, PreviewGrants grants, PreviewOrigin origin, Database database, LedgerStore ledger, DeviceConnections connections,
        ClaimsPrincipal user)
    {
        var session = sessions.Get(id);
        var actor = user.Actor();
        authority.Ensure(actor, session.ProjectId, new OpenPreview());
        if (Found(egress.DoorsOf(id)).FirstOrDefault(p => p.Port == request.Port) is not { } port)
        {
            throw ApiProblem.NotFound(ErrorCodes.PortNotListening,
                $"Nothing in this session's sandbox listens on port {request.Port} now: only the ports its processes listen on can be previewed.");
        }

        var (grant, code) = grants.Open(id, session.ProjectId, port.Port, actor.Name, connections.For(actor.Id));
        database.Write(write => ledger.Append(write, actor.Name, "preview.opened", id, new JsonObject
        {
            ["preview"] = grant.Id, ["port"] = port.Port, ["process"] = port.CommandLine, ["expires_at"] = grant.ExpiresAt.ToString("O"),
        }));
        var url = new Uri(origin.OriginFor(http), $"{PreviewProxy.ExchangePath}?code={code}");
        return new OpenedPreviewResponse(grant, url.ToString());
    }

    private static NoContent Close(string previewId, PreviewGrants grants, Authority authority, Database database, LedgerStore ledger, ClaimsPrincipal user)
    {
        var actor = user.Actor();
        var grant = grants.Get(previewId) ?? throw ApiProblem.NotFound(ErrorCodes.PreviewNotFound, $"No preview '{previewId}' is open.");
        authority.Ensure(actor, grant.ProjectId, new OpenPreview());
        if (grants.Close(previewId) is not null)
        {
            database.Write(write => ledger.Append(write, actor.Name, "preview.closed", grant.SessionId, new JsonObject { ["preview"] = grant.Id, ["port"] = grant.Port }));
        }

        return TypedResults.NoContent();
    }
}
