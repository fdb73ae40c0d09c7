using System.Text.Json;

namespace FakeLlm;

/// <summary>An image the model was shown: its media type and its bytes in base64.</summary>
public sealed record ImageInput(string MediaType, string Base64);

public sealed partial record RecordedRequest
{
    /// <summary>
    /// The images anywhere in the conversation's user turns, in order, on every wire: Anthropic <c>image</c> blocks,
    /// Responses <c>input_image</c> and Chat Completions <c>image_url</c> parts (data URLs), Gemini <c>inlineData</c> parts.
    /// </summary>
    public IReadOnlyList<ImageInput> UserImages()
    {
        var found = new List<ImageInput>();
        void Walk(JsonElement value)
        {
            if (value.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in value.EnumerateArray())
                {
                    Walk(item);
                }

                return;
            }

            if (value.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            if (Image(value) is { } image)
            {
                found.Add(image);
                return;
            }

            foreach (var property in value.EnumerateObject())
            {
                Walk(property.Value);
            }
        }

        Walk(IsGemini && Body.TryGetProperty("contents", out var contents) ? contents : Wire == ModelWire.OpenAiResponses ? Body.GetProperty("input") : Body.GetProperty("messages"));
        return found;
    }

    private static ImageInput? Image(JsonElement block)
    {
        switch (BlockType(block))
        {
            case "image" when block.TryGetProperty("source", out var source):
                return new ImageInput(Str(source, "media_type"), Str(source, "data"));
            case "input_image":
                return FromDataUrl(block.TryGetProperty("image_url", out var url) && url.ValueKind == JsonValueKind.String ? url.GetString() : null);
            case "image_url" when block.TryGetProperty("image_url", out var image):
                return FromDataUrl(Str(image, "url"));
        }

        return block.TryGetProperty("inlineData", out var inline) ? new ImageInput(Str(inline, "mimeType"), Str(inline, "data")) : null;
    }

    private static ImageInput? FromDataUrl(string? url)
    {
        // data:<type>;base64,<data>
        var at = url?.IndexOf(";base64,", StringComparison.Ordinal) ?? -1;
        return url is not null && url.StartsWith("data:", StringComparison.Ordinal) && at > 0 ? new ImageInput(url[5..at], url[(at + 8)..]) : null;
    }
}
