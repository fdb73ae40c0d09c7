using Microsoft.OpenApi;
using PocketCoder.Realtime;

namespace PocketCoder.Server;

/// <summary>
/// The HTTP contract as an OpenAPI document at <c>/openapi/v1.json</c>, generated from the endpoints themselves.
/// It needs a device token like every other endpoint: it is harmless, but nothing here is served to strangers.
/// Every operation also lists the problem+json body every error carries (<c>code</c> is what clients switch on).
/// The document only changes with the code, so <c>serve</c> answers with the copy built into it (web/openapi.json,
/// embedded): the generator's services cost ~3 MiB of every server's memory for a request a developer makes once.
/// Tests run the generator (<see cref="PocketCoderOptions.LiveApiDocument"/>) and fail when the copy differs.
/// </summary>
public static class ApiDocument
{
    public const string Path = "/openapi/v1.json";

    /// <summary>
    /// Whether this build has the generator at all: the native build leaves it out (PocketCoder.csproj sets the switch off,
    /// and the compiler drops every branch behind it), as only the tests run it and they run on the JIT build.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.FeatureSwitchDefinition(GeneratorSwitch)]
    private static bool GeneratorIncluded => !AppContext.TryGetSwitch(GeneratorSwitch, out var included) || included;

    private const string GeneratorSwitch = "PocketCoder.LiveApiDocument.IsSupported";

    public static IServiceCollection AddApiDocument(this IServiceCollection services, bool live) =>
        live && GeneratorIncluded ? services.AddGenerator() : services;

    public static WebApplication MapApiDocument(this WebApplication app, bool live)
    {
        if (live && GeneratorIncluded)
        {
            app.MapOpenApi(Path).WithName("ApiDocument");
        }
        else
        {
            app.MapGet(Path, () => TypedResults.Bytes(BuiltIn.Value, "application/json;charset=utf-8")).ExcludeFromDescription().WithName("ApiDocument");
        }

        return app;
    }

    private static readonly Lazy<byte[]> BuiltIn = new(() =>
    {
        using var stream = typeof(ApiDocument).Assembly.GetManifestResourceStream("openapi.json")
            ?? throw new InvalidOperationException("The OpenAPI document is not built into this assembly (web/openapi.json).");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    private static IServiceCollection AddGenerator(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "PocketCoder";
                document.Info.Version = "v1";
                document.Info.Description = "Run coding agents on your own machines and steer them from your phone. Errors are " +
                    "application/problem+json with a stable `code` (docs/api.md lists them). Authenticate with `Authorization: Bearer <device token>`.";
                // The address a request came in on (a port, a relay) is not part of the contract.
                document.Servers?.Clear();
                document.Components ??= new OpenApiComponents();
                document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
                document.Components.Schemas["Problem"] = Problem;
                return Task.CompletedTask;
            });
            options.AddDocumentTransformer(async (document, context, cancellationToken) =>
            {
                // The event catalogue: each payload by its record's name, and SessionEvents mapping every SSE event name
                // to its payload, from which the web app's event types are generated.
                var events = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Description = "Every session event: the SSE `event:` name and its `data` (which also carries `sessionId` and `seq`).",
                    Properties = new Dictionary<string, IOpenApiSchema>(),
                    Required = new HashSet<string>(),
                };
                foreach (var (kind, type) in SessionEventCatalogue.All)
                {
                    var schema = await context.GetOrCreateSchemaAsync(type, null, cancellationToken);
                    schema.Description = $"The `{kind}` event.";
                    document.Components!.Schemas![type.Name] = schema;
                    events.Properties[kind] = new OpenApiSchemaReference(type.Name, document);
                    events.Required.Add(kind);
                }

                document.Components!.Schemas!["SessionEvents"] = events;
            });
            // A list's bounds as the generator shows MaxLength's and Length's (see ItemCountAttribute, which replaces them).
            options.AddSchemaTransformer((schema, context, _) =>
            {
                if (context.JsonPropertyInfo?.AttributeProvider?.GetCustomAttributes(typeof(Errors.ItemCountAttribute), true) is [Errors.ItemCountAttribute count, ..])
                {
                    schema.MaxItems = count.Max;
                    schema.MinItems = count.Min > 0 ? count.Min : null;
                }

                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                operation.Responses ??= new OpenApiResponses();
                operation.Responses.TryAdd("default", new OpenApiResponse
                {
                    Description = "A problem: the status says what kind, `code` exactly which.",
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference("Problem", context.Document) },
                    },
                });
                return Task.CompletedTask;
            });
        });

    private static OpenApiSchema Problem => new()
    {
        Type = JsonSchemaType.Object,
        Required = new HashSet<string> { "type", "title", "status", "detail", "code" },
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["type"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["title"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer },
            ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["code"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Stable; clients switch on it (docs/api.md)." },
            ["errors"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "VALIDATION_FAILED from a request body's annotations: the messages by field name.",
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
            },
        },
    };
}
