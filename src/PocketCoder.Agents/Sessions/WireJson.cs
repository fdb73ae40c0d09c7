using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace PocketCoder.Agents.Sessions;

/// <summary>Reading and writing an agent's messages through its protocol's source-generated context.</summary>
internal static class WireJson
{
    /// <summary>A message (or part of one) as <typeparamref name="T"/>; null when it is absent or does not fit (a member of another type).</summary>
    public static T? Read<T>(this JsonSerializerContext context, JsonElement? element) where T : class
    {
        try
        {
            return element is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } value ? value.Deserialize(context.Info<T>()) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A line or a body read as <typeparamref name="T"/>; null when there is none, it is not JSON, or it does not fit.</summary>
    public static T? Read<T>(this JsonSerializerContext context, string? json) where T : class
    {
        try
        {
            return json is null ? null : JsonSerializer.Deserialize(json, context.Info<T>());
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A message to send, as the JSON object <see cref="JsonRpcConnection"/> takes.</summary>
    public static JsonObject Object<T>(this JsonSerializerContext context, T value) => JsonSerializer.SerializeToNode(value, context.Info<T>())!.AsObject();

    public static JsonTypeInfo<T> Info<T>(this JsonSerializerContext context) => (JsonTypeInfo<T>)context.GetTypeInfo(typeof(T))!;
}
