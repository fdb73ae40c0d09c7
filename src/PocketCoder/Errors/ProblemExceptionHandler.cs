using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;

namespace PocketCoder.Errors;

/// <summary>
/// Turns what a request threw into its problem+json: an <see cref="ApiProblem"/> as it says, an unreadable body as
/// <c>INVALID_JSON</c>/<c>VALIDATION_FAILED</c>, anything else as a logged 500 without its internals.
/// </summary>
internal sealed class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var (status, code, detail) = exception switch
        {
            ApiProblem problem => (problem.Status, problem.Code, problem.Message),
            BadHttpRequestException bad => Describe(bad, context.Request),
            _ => Unexpected(context, exception),
        };
        var details = Problems.Start(context, status, code, detail, (exception as ApiProblem)?.RetryAfter);
        if (exception is ApiProblem { Fields: { } fields })
        {
            foreach (var (name, value) in fields)
            {
                details.Extensions[name] = value;
            }
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = details, Exception = exception });
    }

    private (int, string, string) Unexpected(HttpContext context, Exception exception)
    {
        logger.LogError(exception, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
        return (StatusCodes.Status500InternalServerError, ErrorCodes.Internal, "An unexpected error occurred; it has been logged.");
    }

    private static (int, string, string) Describe(BadHttpRequestException exception, HttpRequest request)
    {
        var status = exception.StatusCode;
        if (status is StatusCodes.Status413PayloadTooLarge or StatusCodes.Status415UnsupportedMediaType)
        {
            var (code, detail) = Problems.Explain(status, request);
            return (status, code, detail);
        }

        if (exception.InnerException is JsonException json)
        {
            // A body that parses but holds a value of the wrong type is a validation problem, not a syntax one.
            var wrongType = json.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal);
            var where = json.Path is { Length: > 1 } path ? $" (at {path})" : "";
            return wrongType
                ? (status, ErrorCodes.ValidationFailed, $"A field has the wrong type{where}.")
                : (status, ErrorCodes.InvalidJson, $"The body is not valid JSON{where}.");
        }

        if (exception.Message.Contains("body was provided", StringComparison.OrdinalIgnoreCase)
            || exception.Message.Contains("no body", StringComparison.OrdinalIgnoreCase))
        {
            return (status, ErrorCodes.InvalidJson, "A JSON body is required.");
        }

        return (status, ErrorCodes.BadRequest, exception.Message);
    }
}
