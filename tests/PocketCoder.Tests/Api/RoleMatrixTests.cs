using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Auth;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Teams;

namespace PocketCoder.Tests.Api;

/// <summary>
/// Every route of the OpenAPI document, called by every role: refused (403 <c>ROLE_FORBIDDEN</c>) exactly where
/// <see cref="RouteAccess"/> says the role is below what the route needs, and let through everywhere else. A route added
/// without a role decision fails here (and is refused to everyone at run time).
/// </summary>
public sealed partial class RoleMatrixTests
{
    [Fact]
    public async Task EveryRoute_EveryRole_RefusedExactlyBelowWhatTheRouteNeeds()
    {
        await using var server = await TestServer.StartAsync(liveApiDocument: true);
        var owner = await server.PairAsync("owner's phone");
        var people = new Dictionary<Role, PairedClient>
        {
            [Role.Owner] = owner,
            [Role.Approver] = await server.PairPersonAsync("Ana", Role.Approver),
            [Role.Operator] = await server.PairPersonAsync("Olu", Role.Operator),
            [Role.Viewer] = await server.PairPersonAsync("Vic", Role.Viewer),
        };

        var document = await owner.Http.GetOkAsync("/openapi/v1.json");
        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => (Method: op.Name.ToUpperInvariant(), Path: path.Name,
                Id: op.Value.TryGetProperty("operationId", out var id) ? id.GetString() : null)))
            // A lockdown revokes every device but the caller's: asked last, and by the owner after everyone else (below).
            .OrderBy(op => op.Id == "Lockdown")
            .ToList();
        Assert.True(operations.Count >= 100, $"Only {operations.Count} operations in the document.");

        var failures = new List<string>();
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        foreach (var (method, template, id) in operations)
        {
            if (id is "Health" or "Pair" or "OpenWatchLink" or "RelayPush")
            {
                continue; // Anonymous by design (AuthTests; a watch link's token is its own credential, WatchLinkTests;
                          // a push relay's secret is its, PushRelayTests).
            }

            if (id is null || !RouteAccess.ByRoute.TryGetValue(id, out var rule))
            {
                failures.Add($"{method} {template} ({id ?? "no operation id"}): no role decision in RouteAccess");
                continue;
            }

            // Ids of nothing: the role is judged before anything is looked up (a turn is a number, or the route is not found).
            var path = Parameter().Replace(template, match => match.Value == "{turn}" ? "1" : "nothing-" + Guid.NewGuid().ToString("N")[..8]);
            foreach (var (role, client) in people.OrderBy(p => p.Key))
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", client.Token);
                if (method is "POST" or "PUT" or "PATCH")
                {
                    request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
                }

                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                var refused = response.StatusCode == HttpStatusCode.Forbidden
                    && JsonElement.Parse(await response.Content.ReadAsStringAsync()).GetProperty("code").GetString() == "ROLE_FORBIDDEN";
                var shouldRefuse = role < rule.Least;
                if (refused != shouldRefuse)
                {
                    failures.Add($"{method} {template} as {role.ToWire()}: {(int)response.StatusCode}, expected {(shouldRefuse ? "403 ROLE_FORBIDDEN" : "to be let through")} ({rule.Access})");
                }
            }
        }

        var documented = operations.Select(o => o.Id).ToHashSet();
        failures.AddRange(RouteAccess.ByRoute.Keys.Where(name => !documented.Contains(name) && name != "ApiDocument")
            .Select(name => $"RouteAccess names '{name}', which no route has (renamed or removed?)"));
        Assert.True(failures.Count == 0, "Role matrix:\n" + string.Join("\n", failures));
    }

    /// <summary>Routes the document leaves out (the document itself) are held to the table too: every authenticated endpoint has an entry.</summary>
    [Fact]
    public async Task EveryAuthenticatedEndpoint_HasARoleDecision()
    {
        await using var server = await TestServer.StartAsync();
        var missing = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is null && e.Metadata.GetMetadata<IHttpMethodMetadata>() is not null)
            .Where(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName is not { } name || !RouteAccess.ByRoute.ContainsKey(name))
            .Select(e => e.RoutePattern.RawText)
            .ToList();

        Assert.True(missing.Count == 0, "Endpoints with no role decision in RouteAccess: " + string.Join(", ", missing));
    }

    [Fact]
    public async Task RouteWithoutDecision_RefusedToEveryoneEvenTheOwner()
    {
        // The same guard in front of a route nobody decided on: a test's own endpoint, mapped as a feature would map one.
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        PocketCoder.Errors.Problems.AddProblemResponses(builder.Services);
        await using var app = builder.Build();
        app.Use(async (context, next) =>
        {
            // Stands in for authentication: an owner's claims.
            context.User = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
                [new(DeviceAuthentication.RoleClaim, Roles.Owner), new(DeviceAuthentication.DeviceIdClaim, "owner-device")], "test"));
            await next(context);
        });
        app.UseRouting();
        app.UseRoleGuard();
        app.MapGet("/api/forgotten", () => "open").WithName("ForgottenRoute");
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        await ApiAssert.ProblemAsync(await http.GetAsync("/api/forgotten"), HttpStatusCode.Forbidden, "ROUTE_WITHOUT_ROLE");
    }

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex Parameter();
}
