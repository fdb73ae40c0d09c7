using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Data;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Reliability;

/// <summary>
/// Api/BadInputTests pins the exact answer to each known mistake; this throws everything at every endpoint the
/// server maps (found from its EndpointDataSource, so a new endpoint is covered the day it is added): the answer
/// is never a 500, always problem+json with a stable code, and the server keeps serving.
/// </summary>
public sealed partial class EndpointFuzzTests
{
    /// <summary>Path-like values, unicode and control characters, sizes: for every path segment, query value and string field.</summary>
    private static readonly string[] NastyStrings =
    [
        "../../../../etc/passwd", "..\\..\\..\\windows\\win.ini", "/etc/passwd", "/", "~/.ssh/id_rsa", "%2e%2e%2f%2e%2e%2fetc",
        "file:///etc/passwd", "a\0b", "\u001b[2J\u0007", "\r\nX-Injected: yes", "ünïcødé 项目 😀 \u202e gnp.exe", "\ud800",
        "' OR 1=1 --", "-1", "0", "99999999999999999999999", "", " ", new string('a', 100_000),
    ];

    private static readonly JsonNode?[] WrongTypes = [5, -1.5, true, null, new JsonArray(1, "x"), new JsonObject { ["x"] = 1 }];

    private static readonly string[] RawBodies =
    [
        "", "{", "{\"a\":", "not json", "null", "[]", "\"text\"", "42", "{}", "{\"a\":1,\"a\":2}", "\uFEFF{}",
        new string('[', 10_000) + new string(']', 10_000), "{\"x\":\"\\ud800\"}", "{\"x\":\"\u0000\"}",
    ];

    [Fact]
    public async Task EveryEndpoint_HostileInput_NeverServerErrorAlwaysProblemJson()
    {
        var repository = TempPaths.NewGitRepository();
        try
        {
            await using var server = await TestServer.StartAsync();
            var phone = await server.PairAsync();
            var projectId = (await phone.Http.PostOkAsync("/api/projects", new { path = repository })).GetProperty("id").GetString()!;
            var sessionId = CreateSession(server, projectId);
            using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, MaxResponseDrainSize = 0, RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8,
                // A client that sent Expect: 100-continue waits for the server's verdict rather than pushing 10 MB regardless.
                Expect100ContinueTimeout = TimeSpan.FromSeconds(30) })
            {
                BaseAddress = server.BaseUrl,
                Timeout = TimeSpan.FromSeconds(30),
            };

            var failures = new List<string>();
            var sent = 0;
            foreach (var endpoint in Endpoints(server))
            {
                foreach (var request in Requests(endpoint, projectId, sessionId))
                {
                    request.Headers.Authorization = new("Bearer", phone.Token);
                    var label = $"{request.Method} {Shorten(request.RequestUri!.OriginalString)} body={await BodyLabelAsync(request.Content)}";
                    sent++;
                    try
                    {
                        // NUL is not allowed anywhere in an HTTP request line or header: Kestrel's parser answers a bare
                        // 400 and closes the connection before any of our code runs. That is the one bodyless answer allowed.
                        var malformedHttp = request.RequestUri.OriginalString.Split('?')[0].Contains("%00", StringComparison.Ordinal)
                            || request.Headers.Any(h => h.Value.Any(v => v.Contains('\0', StringComparison.Ordinal)));
                        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                        if (malformedHttp)
                        {
                            if (response.StatusCode != HttpStatusCode.BadRequest)
                            {
                                failures.Add($"{label}: {(int)response.StatusCode} for a request HTTP forbids");
                            }
                        }
                        else if (await ProblemAsync(response) is { } problem)
                        {
                            failures.Add($"{label}: {problem}");
                        }
                    }
                    catch (HttpRequestException) when (endpoint.Body is null && request.Headers.ExpectContinue == true)
                    {
                        // An endpoint that takes no body answers at once; Kestrel then reads the unwanted 10 MB only up to
                        // the 2 MB limit and drops the connection, which the client sees as a broken pipe. Not an error.
                    }
                    catch (HttpRequestException exception)
                    {
                        failures.Add($"{label}: no answer ({exception.Message} {exception.InnerException?.Message})");
                    }
                    catch (TaskCanceledException)
                    {
                        // Named, not thrown: a hang on hostile input is a bug in one endpoint, and the run goes on to the rest.
                        failures.Add($"{label}: no answer in {http.Timeout.TotalSeconds:0} s");
                    }
                }
            }

            Assert.True(sent > 500, $"Only {sent} requests were sent.");
            Assert.True(failures.Count == 0, $"{failures.Count} of {sent} hostile requests were mishandled:\n{string.Join("\n", failures.Take(40))}");
            Assert.Equal("ok", (await server.Anonymous.GetOkAsync("/api/health")).GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.OK, (await phone.Http.GetAsync("/api/projects")).StatusCode);
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }

    [Theory]
    [InlineData(20 * 1024, false)] // Under Kestrel's 32 KB header limit: the app answers.
    [InlineData(64 * 1024, true)] // Over it: Kestrel refuses before any app code runs.
    public async Task HugeHeader_AnyEndpoint_RefusedCleanlyServerKeepsServing(int size, bool overLimit)
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/projects") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("X-Padding", new string('h', size));

        using var response = await phone.Http.SendAsync(request);

        if (overLimit)
        {
            // 431 comes from Kestrel's HTTP parser, which writes no body; nothing of ours ran, nothing was stored.
            Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        }
        else
        {
            await ApiAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        }

        Assert.Equal(HttpStatusCode.OK, (await phone.Http.GetAsync("/api/projects")).StatusCode);
    }

    /// <summary>Null when the answer is acceptable; otherwise what is wrong with it.</summary>
    private static async Task<string?> ProblemAsync(HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 400)
        {
            return null;
        }

        if (status == 500 || status >= 600)
        {
            return $"{status} {await response.Content.ReadAsStringAsync()}";
        }

        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return $"{status} with content type {response.Content.Headers.ContentType?.MediaType ?? "none"}";
        }

        var body = await response.Content.ReadAsStringAsync();
        try
        {
            var code = JsonElement.Parse(body).GetProperty("code").GetString();
            return code is not null && StableCode().IsMatch(code) ? null : $"{status} with code '{code}'";
        }
        catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return $"{status} with an unreadable problem body: {Shorten(body)}";
        }
    }

    private static IEnumerable<HttpRequestMessage> Requests((string Method, string Template, Type? Body) endpoint, string projectId, string sessionId)
    {
        var (method, template, body) = endpoint;
        var destructive = method == "DELETE";
        // Real ids get hostile bodies past the 404 to validation; DELETE never gets a real id (it would remove the fixtures).
        string Real(string parameter) => destructive ? Guid.NewGuid().ToString("N") : parameter switch
        {
            "projectId" => projectId,
            "id" when template.StartsWith("/api/projects", StringComparison.Ordinal) => projectId,
            "id" when template.StartsWith("/api/sessions", StringComparison.Ordinal) => sessionId,
            _ => Guid.NewGuid().ToString("N"),
        };

        var realPath = Parameter().Replace(template, m => Real(m.Groups[1].Value));

        // Hostile values in every path parameter, escaped as a client would send them.
        if (template.Contains('{', StringComparison.Ordinal))
        {
            foreach (var nasty in NastyStrings.Where(s => s.Length is > 0 and < 1000))
            {
                yield return New(method, Parameter().Replace(template, _ => Uri.EscapeDataString(nasty)), method is "GET" or "DELETE" ? null : "{}");
            }
        }

        // Hostile query values (cursors, filters) and hostile Last-Event-ID headers on reads.
        if (method == "GET")
        {
            foreach (var nasty in NastyStrings.Where(s => s.Length < 1000))
            {
                var query = Uri.EscapeDataString(nasty);
                yield return New(method, $"{realPath}?status={query}&after={query}&limit={query}&sessionId={query}", null);
                var withHeader = New(method, realPath, null);
                withHeader.Headers.TryAddWithoutValidation("Last-Event-ID", nasty.Replace("\r\n", " ", StringComparison.Ordinal));
                yield return withHeader;
            }
        }

        if (method is "GET" or "DELETE")
        {
            yield break;
        }

        foreach (var raw in RawBodies)
        {
            yield return New(method, realPath, raw);
        }

        // 10 MB: a client that asks first (Expect: 100-continue) hears 413 before it sends the body.
        var huge = New(method, realPath, null);
        huge.Content = new ByteArrayContent(HugeBody.Value);
        huge.Content.Headers.ContentType = new("application/json");
        huge.Headers.ExpectContinue = true;
        yield return huge;
        yield return New(method, realPath, "{\"a\":1}", "text/plain");
        yield return New(method, realPath, "{\"a\":1}", "application/x-www-form-urlencoded");

        var fields = body?.GetProperties().Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)).ToList() ?? [];
        foreach (var field in fields)
        {
            foreach (var wrong in WrongTypes)
            {
                yield return New(method, realPath, new JsonObject { [field] = wrong?.DeepClone() }.ToJsonString());
            }

            foreach (var nasty in NastyStrings)
            {
                yield return New(method, realPath, new JsonObject { [field] = nasty }.ToJsonString());
            }
        }

        // Every field hostile at once: traversal in every path-like field together.
        foreach (var nasty in NastyStrings)
        {
            var all = new JsonObject();
            foreach (var field in fields)
            {
                all[field] = nasty;
            }

            yield return New(method, realPath, all.ToJsonString());
        }
    }

    private static HttpRequestMessage New(string method, string path, string? body, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, new UTF8Encoding(false), contentType);
        }

        return request;
    }

    private static List<(string Method, string Template, Type? Body)> Endpoints(TestServer server) =>
        [.. server.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(method => (Method: method, Template: "/" + (e.RoutePattern.RawText ?? "").Trim('/'),
                    Body: e.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType)))
            .Distinct()];

    private static string CreateSession(TestServer server, string projectId)
    {
        var sessions = server.Services.GetRequiredService<PocketCoder.Sessions.SessionStore>();
        return server.Services.GetRequiredService<Database>().Write(write => sessions.Create(write, projectId, "claude-code", null, "ask", null)).Id;
    }

    /// <summary>
    /// One 10 MB JSON body for every endpoint's "huge" request. Built per endpoint (with its text read back for the label), it
    /// was 50 MB of large-object garbage each, 7 GB in all: the test's process grew past 13 GB and spent half its CPU in
    /// the kernel on a loaded machine.
    /// </summary>
    private static readonly Lazy<byte[]> HugeBody = new(() => Encoding.UTF8.GetBytes("{\"x\":\"" + new string('a', 10 * 1024 * 1024) + "\"}"));

    private static async Task<string> BodyLabelAsync(HttpContent? content) => content switch
    {
        null => "-",
        ByteArrayContent when content.Headers.ContentLength > 1024 * 1024 => $"({content.Headers.ContentLength} bytes)",
        _ => Shorten(await content.ReadAsStringAsync()),
    };

    private static string Shorten(string text) => text.Length > 120 ? text[..120] + $"…({text.Length} chars)" : text;

    [GeneratedRegex(@"\{(\w+)(:[^}]*)?\}")]
    private static partial Regex Parameter();

    [GeneratedRegex("^[A-Z][A-Z0-9_]+$")]
    private static partial Regex StableCode();
}
