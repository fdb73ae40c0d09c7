using System.Text;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http.Metadata;
using PocketCoder.Agents;
using PocketCoder.Errors;

namespace PocketCoder.Sessions;

/// <summary>A file sent with a prompt: its name, and its bytes in base64. The type is read from the bytes, not taken from the client.</summary>
public sealed record AttachmentRequest(string? Name, string? Data);

/// <summary>
/// A message from the owner: the words they typed (what the transcript shows) and what the agent is sent.
/// <c>Sources</c>: the attachments as sent, kept so a queued message can be built again when it starts.
/// </summary>
public sealed record OwnerMessage(string Text, AgentPrompt Prompt, IReadOnlyList<AttachmentInfo> Attachments,
    IReadOnlyList<AttachmentRequest>? Sources = null)
{
    public static OwnerMessage FromText(string text) => new(text, AgentPrompt.FromText(text), []);
}

/// <summary>What the transcript records of an attachment (never its bytes): <c>kind</c> is <c>image</c> or <c>text</c>.</summary>
public sealed record AttachmentInfo(string Name, string Kind, string MediaType, long Size);

/// <summary>
/// Turns what the phone attached into what an agent's protocol carries: images (PNG, JPEG, GIF, WebP, recognised by their
/// first bytes) as the agent's own image blocks, and UTF-8 text files written into the prompt in a fence. Anything else
/// is refused with a reason, never passed on as something it is not.
/// </summary>
public static class Attachments
{
    public const int MaxCount = 4;
    public const int MaxImageBytes = 5 * 1024 * 1024;
    public const int MaxTextBytes = 256 * 1024;
    public const int MaxTotalBytes = 8 * 1024 * 1024;

    /// <summary>Base64 of <see cref="MaxTotalBytes"/> plus the rest of the JSON: the limit on a message's body.</summary>
    public const long MaxBodyBytes = MaxTotalBytes / 3 * 4 + 1024 * 1024;

    public static OwnerMessage Build(string text, IReadOnlyList<AttachmentRequest>? attachments)
    {
        if (attachments is null || attachments.Count == 0)
        {
            return OwnerMessage.FromText(text);
        }

        if (attachments.Count > MaxCount)
        {
            throw ApiProblem.BadRequest(ErrorCodes.AttachmentInvalid, $"At most {MaxCount} attachments go with one message.");
        }

        var images = new List<PromptImage>();
        var infos = new List<AttachmentInfo>();
        var prompt = new StringBuilder(text);
        long total = 0;
        foreach (var attachment in attachments)
        {
            var name = CleanName(attachment.Name);
            var bytes = Decode(name, attachment.Data);
            total += bytes.Length;
            if (total > MaxTotalBytes)
            {
                throw TooLarge($"The attachments come to more than {MaxTotalBytes / (1024 * 1024)} MB together.");
            }

            if (ImageType(bytes) is { } mediaType)
            {
                if (bytes.Length > MaxImageBytes)
                {
                    throw TooLarge($"'{name}' is {bytes.Length / 1024} KB; an image goes up to {MaxImageBytes / (1024 * 1024)} MB (models refuse larger ones).");
                }

                images.Add(new PromptImage(mediaType, bytes));
                infos.Add(new AttachmentInfo(name, "image", mediaType, bytes.Length));
                continue;
            }

            if (bytes.Length > MaxTextBytes)
            {
                throw TooLarge($"'{name}' is {bytes.Length / 1024} KB; a text file goes up to {MaxTextBytes / 1024} KB.");
            }

            var content = Text(name, bytes);
            // A fence longer than any run of backticks in the file, so the file cannot close it and speak as the owner.
            var fence = new string('`', Math.Max(3, LongestRun(content, '`') + 1));
            prompt.Append("\n\nAttached file ").Append(name).Append(":\n").Append(fence).Append('\n').Append(content)
                .Append(content.EndsWith('\n') ? "" : "\n").Append(fence);
            infos.Add(new AttachmentInfo(name, "text", "text/plain", bytes.Length));
        }

        return new OwnerMessage(text, new AgentPrompt(prompt.ToString(), images), infos, attachments);
    }

    /// <summary>PNG, JPEG, GIF or WebP by their signatures (what every agent's model takes), or null.</summary>
    internal static string? ImageType(ReadOnlySpan<byte> b) =>
        b.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]) ? "image/png"
        : b.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]) ? "image/jpeg"
        : b.StartsWith("GIF87a"u8) || b.StartsWith("GIF89a"u8) ? "image/gif"
        : b.Length >= 12 && b.StartsWith("RIFF"u8) && b[8..12].SequenceEqual("WEBP"u8) ? "image/webp"
        : null;

    private static string CleanName(string? name)
    {
        // Only the last path segment, on one line, without what would break the prompt's framing.
        var last = (name ?? "").Replace('\\', '/').Split('/').LastOrDefault() ?? "";
        var clean = new string([.. last.Where(c => !char.IsControl(c) && c != '`')]).Trim();
        if (clean.Length == 0)
        {
            throw ApiProblem.BadRequest(ErrorCodes.AttachmentInvalid, "Every attachment needs a 'name'.");
        }

        return clean.Length > 120 ? clean[..120] : clean;
    }

    private static byte[] Decode(string name, string? data)
    {
        if (string.IsNullOrEmpty(data))
        {
            throw ApiProblem.BadRequest(ErrorCodes.AttachmentInvalid, $"'{name}' has no 'data' (its bytes in base64).");
        }

        if (data.Length > (MaxTotalBytes / 3 + 1) * 4)
        {
            throw TooLarge($"'{name}' is larger than all attachments together may be ({MaxTotalBytes / (1024 * 1024)} MB).");
        }

        try
        {
            var bytes = Convert.FromBase64String(data);
            return bytes.Length > 0 ? bytes : throw ApiProblem.BadRequest(ErrorCodes.AttachmentInvalid, $"'{name}' is empty.");
        }
        catch (FormatException)
        {
            throw ApiProblem.BadRequest(ErrorCodes.AttachmentInvalid, $"'{name}': 'data' is not base64.");
        }
    }

    private static string Text(string name, byte[] bytes) =>
        !bytes.AsSpan().Contains((byte)0) && Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : throw Unsupported(name);

    private static int LongestRun(string text, char c)
    {
        int longest = 0, run = 0;
        foreach (var ch in text)
        {
            run = ch == c ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }

        return longest;
    }

    private static ApiProblem TooLarge(string detail) => new(StatusCodes.Status413PayloadTooLarge, ErrorCodes.AttachmentTooLarge, detail);

    private static ApiProblem Unsupported(string name) => new(StatusCodes.Status422UnprocessableEntity, ErrorCodes.AttachmentUnsupported,
        $"'{name}' is neither an image (PNG, JPEG, GIF, WebP) nor UTF-8 text; agents take only those. Save it in the project and name its path instead.");

    /// <summary>Lifts the server's 2 MB body limit for the two endpoints that take attachments.</summary>
    public sealed class BodyLimit : IRequestSizeLimitMetadata
    {
        public long? MaxRequestBodySize => MaxBodyBytes;
    }
}
