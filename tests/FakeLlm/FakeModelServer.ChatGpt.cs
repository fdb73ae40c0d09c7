using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FakeLlm;

/// <summary>
/// ChatGPT's backend as Codex logged in with ChatGPT uses it (its <c>chatgpt_base_url</c> pointed at <see cref="ChatGptBaseUrl"/>):
/// the model at <c>codex/responses</c>, answered from the same script as <c>/v1/responses</c>; and the workspace routing Codex
/// 0.169 asks for before its first turn (<c>wham/accounts/check</c>), answered for the account its request names, with the
/// origin and routing the real backend gives an account without a residency constraint; and its apps' MCP server, with no tools.
/// The rest (its model list, settings, analytics) is not found, as Codex takes in its stride.
/// </summary>
public sealed partial class FakeModelServer
{
    /// <summary>What a test's Codex takes as <c>chatgpt_base_url</c>.</summary>
    public Uri ChatGptBaseUrl => new(BaseUrl, "/backend-api/");

    private void MapChatGptEndpoints()
    {
        _app.MapPost("/backend-api/codex/responses", ResponsesAsync);
        // ChatGPT's apps, an MCP server Codex starts with a ChatGPT login: one with no tools (else a failed start each session).
        _app.MapPost("/backend-api/ps/mcp", async context =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var call = JsonNode.Parse(await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false)) as JsonObject ?? [];
            if (call["id"] is not { } id)
            {
                context.Response.StatusCode = StatusCodes.Status202Accepted;
                return;
            }

            JsonObject result = call["method"]?.ToString() == "initialize"
                ? new JsonObject
                {
                    ["protocolVersion"] = call["params"]?["protocolVersion"]?.DeepClone() ?? "2025-06-18",
                    ["capabilities"] = new JsonObject { ["tools"] = new JsonObject() },
                    ["serverInfo"] = new JsonObject { ["name"] = "fake-apps", ["version"] = "1" },
                }
                : new JsonObject { ["tools"] = new JsonArray() };
            var answer = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id.DeepClone(), ["result"] = result };
            await WriteJsonAsync(context.Response, StatusCodes.Status200OK, Encoding.UTF8.GetBytes(answer.ToJsonString()),
                context.RequestAborted).ConfigureAwait(false);
        });
        _app.MapGet("/backend-api/wham/accounts/check", async context =>
        {
            var account = context.Request.Headers["chatgpt-account-id"].ToString();
            var answer = new JsonObject
            {
                ["accounts"] = new JsonArray(new JsonObject
                {
                    ["id"] = account, ["workspace_backend_origin"] = "https://chatgpt.com", ["account_routing_override"] = "NO_CONSTRAINT",
                }),
            };
            await WriteJsonAsync(context.Response, StatusCodes.Status200OK, Encoding.UTF8.GetBytes(answer.ToJsonString()),
                context.RequestAborted).ConfigureAwait(false);
        });
    }
}
