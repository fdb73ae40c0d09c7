using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Server;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Api;

/// <summary>The OpenAPI document is generated from the endpoints, so it cannot leave one out.</summary>
public sealed class ApiDocumentTests
{
    [Fact]
    public async Task Document_ListsEveryApiEndpointWithItsMethod_AndTheProblemBody()
    {
        await using var server = await TestServer.StartAsync(liveApiDocument: true);
        var phone = await server.PairAsync("phone");

        var document = await phone.Http.GetOkAsync(ApiDocument.Path);

        var documented = Operations(document).Select(o => $"{o.Method} {o.Path}").ToHashSet();
        var served = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => $"{m} {Normalise(e.RoutePattern.RawText!)}"))
            .ToHashSet();

        Assert.NotEmpty(served);
        Assert.True(!served.Except(documented).Any(), $"Not in the document: {string.Join(", ", served.Except(documented))}. Documented: {string.Join(", ", documented)}");
        var problem = document.GetProperty("components").GetProperty("schemas").GetProperty("Problem");
        Assert.Contains("code", problem.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Value.ValueKind == JsonValueKind.Object && o.Value.TryGetProperty("responses", out _)))
            {
                var responses = operation.Value.GetProperty("responses").EnumerateObject().ToList();
                var where = $"{operation.Name} {path.Name}";
                Assert.Contains(responses, r => r.Name == "default");
                Assert.True(responses.Any(r => r.Name.StartsWith('2')), $"{where} declares no success status.");
                // A 200 or 201 carries a body, and the document must say what it is.
                Assert.All(responses.Where(r => r.Name is "200" or "201"), r => Assert.True(r.Value.TryGetProperty("content", out _), $"{where} {r.Name} has no body schema."));
            }
        }
    }

    /// <summary>
    /// The .http samples in docs/http name real endpoints: each request's method and route (variables and query strings
    /// aside) is an operation in the served document, and each query parameter is one it declares.
    /// </summary>
    [Fact]
    public async Task HttpSamples_NameOnlyEndpointsAndParametersTheServerHas()
    {
        await using var server = await TestServer.StartAsync(liveApiDocument: true);
        var phone = await server.PairAsync("phone");
        var document = await phone.Http.GetOkAsync(ApiDocument.Path);
        var operations = Operations(document);

        var samples = Directory.GetFiles(Path.Combine(ClaudeCli.RepositoryRoot(), "docs", "http"), "*.http");
        var requests = samples.SelectMany(file => File.ReadAllLines(file)
                .Select(line => System.Text.RegularExpressions.Regex.Match(line, @"^(GET|POST|PUT|PATCH|DELETE) \{\{base\}\}(/api/\S*)$"))
                .Where(match => match.Success)
                .Select(match => (File: Path.GetFileName(file), Method: match.Groups[1].Value, Target: match.Groups[2].Value)))
            .ToList();

        Assert.True(requests.Count >= 25, $"Only {requests.Count} sample requests found.");
        foreach (var (file, method, target) in requests)
        {
            var (path, query) = target.Split('?', 2) is [var p, var q] ? (p, q) : (target, "");
            var segments = path.Split('/');
            var operation = operations.FirstOrDefault(o => o.Method == method && o.Path.Split('/') is var template
                && template.Length == segments.Length
                && template.Zip(segments).All(pair => pair.First == pair.Second || pair.First.StartsWith('{')));
            Assert.True(operation.Path is not null, $"{file}: {method} {target} is not an endpoint of the API.");
            var declared = operation.Operation.TryGetProperty("parameters", out var parameters)
                ? parameters.EnumerateArray().Select(x => x.GetProperty("name").GetString()).ToHashSet()
                : [];
            foreach (var name in query.Split('&', StringSplitOptions.RemoveEmptyEntries).Select(pair => pair.Split('=')[0]))
            {
                Assert.True(declared.Contains(name), $"{file}: {method} {path} has no query parameter '{name}'.");
            }
        }
    }

    /// <summary>
    /// The web app's types are generated from web/openapi.json (npm run gen:api), so that file must be what the server
    /// serves. Run with POCKETCODER_UPDATE_OPENAPI=1 to rewrite it after changing an endpoint, then rebuild the app.
    /// </summary>
    [Fact]
    public async Task CheckedInDocument_TheWebAppsTypesComeFrom_IsWhatTheServerServes()
    {
        await using var server = await TestServer.StartAsync(liveApiDocument: true);
        var phone = await server.PairAsync("phone");
        var served = JsonNode.Parse((await phone.Http.GetOkAsync(ApiDocument.Path)).GetRawText())!;
        var path = Path.Combine(ClaudeCli.RepositoryRoot(), "web", "openapi.json");

        if (Environment.GetEnvironmentVariable("POCKETCODER_UPDATE_OPENAPI") == "1")
        {
            await File.WriteAllTextAsync(path, served.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        }

        var checkedIn = JsonNode.Parse(await File.ReadAllTextAsync(path));
        Assert.True(JsonNode.DeepEquals(served, checkedIn),
            "web/openapi.json is not what the server serves: run `POCKETCODER_UPDATE_OPENAPI=1 dotnet test tests/PocketCoder.Tests " +
            "--filter FullyQualifiedName~CheckedInDocument` and rebuild the web app, whose types are generated from it.");
    }

    /// <summary>serve answers with the copy built into it, which the test above keeps equal to the generated document.</summary>
    [Fact]
    public async Task Serve_AnswersWithTheBuiltInCopy_OfTheCheckedInDocument()
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync("phone");

        var response = await phone.Http.GetAsync(ApiDocument.Path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var checkedIn = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(ClaudeCli.RepositoryRoot(), "web", "openapi.json")));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(await response.Content.ReadAsStringAsync()), checkedIn),
            "The built-in document differs from web/openapi.json: rebuild after updating it.");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Document_WithoutADeviceToken_Refused(bool live)
    {
        await using var server = await TestServer.StartAsync(liveApiDocument: live);
        await ApiAssert.ProblemAsync(await server.Anonymous.GetAsync(ApiDocument.Path), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    /// <summary>Every operation in the document: its method, its path template and its description.</summary>
    private static List<(string Method, string Path, JsonElement Operation)> Operations(JsonElement document) =>
    [
        .. document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject()
                .Where(operation => operation.Name is "get" or "post" or "put" or "patch" or "delete")
                .Select(operation => (operation.Name.ToUpperInvariant(), path.Name, operation.Value))),
    ];

    // Route constraints ({id:guid}) and a group's trailing slash are not part of an OpenAPI path.
    private static string Normalise(string pattern) =>
        System.Text.RegularExpressions.Regex.Replace(pattern, @"\{([^}:?]+)[^}]*\}", "{$1}").TrimEnd('/');
}
