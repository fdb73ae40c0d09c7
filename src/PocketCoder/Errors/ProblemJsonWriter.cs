using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace PocketCoder.Errors;

/// <summary>
/// Writes every problem as problem+json, whatever the request's Accept header says: the framework's default writer
/// stays silent for <c>Accept: text/event-stream</c> or <c>text/html</c>, and a client must always learn why it failed.
/// </summary>
internal sealed class ProblemJsonWriter(IOptions<ProblemDetailsOptions> options) : IProblemDetailsWriter
{
    // Relaxed escaping: this is JSON for clients, never embedded in HTML.
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public bool CanWrite(ProblemDetailsContext context) => true;

    public async ValueTask WriteAsync(ProblemDetailsContext context)
    {
        // The framework's writer runs the customisation; this one must too.
        options.Value.CustomizeProblemDetails?.Invoke(context);
        var problem = context.ProblemDetails;
        var response = context.HttpContext.Response;
        var status = problem.Status ?? response.StatusCode;
        response.ContentType = "application/problem+json";
        await using var writer = new Utf8JsonWriter(response.Body, Options);
        writer.WriteStartObject();
        writer.WriteString("type", problem.Type ?? "about:blank");
        writer.WriteString("title", problem.Title ?? ReasonPhrase(status));
        writer.WriteNumber("status", status);
        writer.WriteString("detail", problem.Detail);
        foreach (var (name, value) in problem.Extensions)
        {
            // A list (the files a merge conflicts in) stays a list; anything else is written as its text.
            if (value is string[] list)
            {
                WriteStrings(name, list);
            }
            else
            {
                writer.WriteString(name, value?.ToString());
            }
        }

        if (problem is HttpValidationProblemDetails { Errors.Count: > 0 } invalid)
        {
            writer.WriteStartObject("errors");
            foreach (var (field, messages) in invalid.Errors)
            {
                WriteStrings(JsonNamingPolicy.CamelCase.ConvertName(field), messages);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        await writer.FlushAsync(context.HttpContext.RequestAborted);

        void WriteStrings(string name, string[] items)
        {
            writer.WriteStartArray(name);
            foreach (var item in items)
            {
                writer.WriteStringValue(item);
            }

            writer.WriteEndArray();
        }
    }

    private static string ReasonPhrase(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error";
}
