using System.Globalization;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace PocketCoder.Errors;

/// <summary>
/// How errors become HTTP responses, on the framework's own machinery: ProblemDetails for the body, an
/// <see cref="IExceptionHandler"/> for thrown <see cref="ApiProblem"/>s and unreadable bodies, status-code pages for the
/// bare codes routing and auth answer with. Every body is problem+json with a stable <c>code</c>.
/// </summary>
public static class Problems
{
    public static IServiceCollection AddProblemResponses(this IServiceCollection services)
    {
        // Registered first, so it is the writer the service picks.
        services.AddSingleton<IProblemDetailsWriter, ProblemJsonWriter>();
        services.AddProblemDetails(options => options.CustomizeProblemDetails = Complete);
        services.AddExceptionHandler<ProblemExceptionHandler>();
        // Unreadable bodies are thrown, so they reach the exception handler like every other problem.
        services.Configure<RouteHandlerOptions>(routes => routes.ThrowOnBadRequest = true);
        return services;
    }

    public static WebApplication UseProblemResponses(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }

    /// <summary>Answers with a problem outside an endpoint (guards, authentication, the static web app).</summary>
    public static async Task WriteAsync(HttpContext context, int status, string code, string detail, TimeSpan? retryAfter = null) =>
        await context.RequestServices.GetRequiredService<IProblemDetailsService>()
            .WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = Start(context, status, code, detail, retryAfter) });

    /// <summary>Sets the response's status (and Retry-After, for 429 and 503), and returns its problem, to be written.</summary>
    internal static ProblemDetails Start(HttpContext context, int status, string code, string detail, TimeSpan? retryAfter)
    {
        context.Response.StatusCode = status;
        if (retryAfter is { } wait)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        return new ProblemDetails { Status = status, Detail = detail, Extensions = { ["code"] = code } };
    }

    /// <summary>Fills what every problem carries: a stable code (from the status when nobody named one) and a detail.</summary>
    private static void Complete(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        problem.Type = "about:blank";
        problem.Extensions.Remove("traceId");
        if (problem is HttpValidationProblemDetails { Errors.Count: > 0 } invalid)
        {
            // From AddValidation: the request body's data annotations. Each message names its field already.
            problem.Title = null;
            problem.Extensions["code"] = ErrorCodes.ValidationFailed;
            problem.Detail = string.Join(" ", invalid.Errors.Values.SelectMany(messages => messages));
            return;
        }

        if (problem.Extensions.ContainsKey("code"))
        {
            return;
        }

        var (code, detail) = Explain(problem.Status, context.HttpContext.Request);
        problem.Extensions["code"] = code;
        problem.Detail ??= detail;
    }

    /// <summary>What a bare status means, when nobody said: its stable code and a detail.</summary>
    internal static (string Code, string Detail) Explain(int? status, HttpRequest request) => status switch
    {
        401 => (ErrorCodes.Unauthorized, "A valid device token is required. Pair a device with the pairing command `serve` printed."),
        404 => (ErrorCodes.NotFound, $"No endpoint at {request.Path}."),
        405 => (ErrorCodes.MethodNotAllowed, $"{request.Method} is not allowed on {request.Path}."),
        413 => (ErrorCodes.BodyTooLarge, "The request body is too large."),
        415 => (ErrorCodes.UnsupportedMediaType, "Send the body as application/json."),
        >= 500 => (ErrorCodes.Internal, "An unexpected error occurred; it has been logged."),
        _ => (ErrorCodes.BadRequest, "The request could not be handled."),
    };
}
