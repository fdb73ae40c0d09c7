using System.Text.Json;

namespace PocketCoder.Errors;

/// <summary>
/// The one place errors become HTTP responses: <see cref="ApiProblem"/>s, unreadable request bodies, and
/// bare status codes from routing and auth, all as problem+json with a stable code. An unexpected
/// exception is logged and answered 500 <c>INTERNAL_ERROR</c> without its internals.
/// </summary>
public sealed class ProblemMiddleware(RequestDelegate next, ILogger<ProblemMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (ApiProblem problem) when (!context.Response.HasStarted)
        {
            await WriteAsync(context, problem.Status, problem.Code, problem.Message, problem.RetryAfter);
            return;
        }
        catch (BadHttpRequestException exception) when (!context.Response.HasStarted)
        {
            var (code, detail) = Describe(exception);
            await WriteAsync(context, exception.StatusCode, code, detail);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
            return;
        }
#pragma warning disable CA1031 // The last line of defence: never leak a stack trace, never crash the server.
        catch (Exception exception) when (!context.Response.HasStarted)
#pragma warning restore CA1031
        {
            logger.LogError(exception, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            await WriteAsync(context, StatusCodes.Status500InternalServerError, ErrorCodes.Internal, "An unexpected error occurred; it has been logged.");
            return;
        }

        // Routing, auth and content negotiation answer with a bare status code: give it a body a client can read.
        if (context.Response.StatusCode >= 400 && !context.Response.HasStarted && context.Response.ContentLength is null
            && context.Response.ContentType is null)
        {
            var (code, detail) = context.Response.StatusCode switch
            {
                401 => (ErrorCodes.Unauthorized, "A valid device token is required. Pair a device with `pocketcoder pair`."),
                404 => (ErrorCodes.NotFound, $"No endpoint at {context.Request.Path}."),
                405 => (ErrorCodes.MethodNotAllowed, $"{context.Request.Method} is not allowed on {context.Request.Path}."),
                413 => (ErrorCodes.BodyTooLarge, "The request body is too large."),
                415 => (ErrorCodes.UnsupportedMediaType, "Send the body as application/json."),
                _ => (ErrorCodes.BadRequest, "The request could not be handled."),
            };
            await WriteAsync(context, context.Response.StatusCode, code, detail);
        }
    }

    public static async Task WriteAsync(HttpContext context, int status, string code, string detail, TimeSpan? retryAfter = null)
    {
        context.Response.Clear();
        context.Response.StatusCode = status;
        if (retryAfter is { } wait)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        context.Response.ContentType = "application/problem+json";
        var title = ReasonPhrases(status);
        // Relaxed escaping: this is JSON for clients, never embedded in HTML.
        await using var writer = new Utf8JsonWriter(context.Response.Body, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        writer.WriteStartObject();
        writer.WriteString("type", "about:blank");
        writer.WriteString("title", title);
        writer.WriteNumber("status", status);
        writer.WriteString("detail", detail);
        writer.WriteString("code", code);
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }

    private static (string Code, string Detail) Describe(BadHttpRequestException exception)
    {
        if (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (ErrorCodes.BodyTooLarge, "The request body is too large.");
        }

        if (exception.StatusCode == StatusCodes.Status415UnsupportedMediaType)
        {
            return (ErrorCodes.UnsupportedMediaType, "Send the body as application/json.");
        }

        if (exception.InnerException is JsonException json)
        {
            // A body that parses but holds a value of the wrong type is a validation problem, not a syntax one.
            var wrongType = json.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal);
            var where = json.Path is { Length: > 1 } path ? $" (at {path})" : "";
            return wrongType
                ? (ErrorCodes.ValidationFailed, $"A field has the wrong type{where}.")
                : (ErrorCodes.InvalidJson, $"The body is not valid JSON{where}.");
        }

        if (exception.Message.Contains("body was provided", StringComparison.OrdinalIgnoreCase)
            || exception.Message.Contains("no body", StringComparison.OrdinalIgnoreCase))
        {
            return (ErrorCodes.InvalidJson, "A JSON body is required.");
        }

        return (ErrorCodes.BadRequest, exception.Message);
    }

    private static string ReasonPhrases(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error";
}

internal static class ProblemMiddlewareExtensions
{
    public static IApplicationBuilder UseProblems(this IApplicationBuilder app) => app.UseMiddleware<ProblemMiddleware>();

}
