using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents.FileSystem;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.Acp;

/// <summary>
/// The client side of ACP's <c>fs/read_text_file</c> and <c>fs/write_text_file</c>, confined to the project root
/// (real paths, symlinks resolved). These are the effects of tool calls the agent has already had approved through
/// <c>session/request_permission</c>, so they are not asked about again; they are only kept inside the project.
/// </summary>
internal sealed class AcpFileSystem(string projectRoot, bool missingFileReadsEmpty)
{
    /// <summary>Larger files are refused rather than read into memory and sent down the pipe.</summary>
    public const long MaxFileBytes = 16 * 1024 * 1024;

    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    private readonly string _root = RealPath.Resolve(projectRoot) ?? projectRoot;

    /// <summary>Answers one fs request: the JSON-RPC result, or an error.</summary>
    public async Task<JsonRpcReply> HandleAsync(string method, JsonElement parameters, CancellationToken cancellationToken)
    {
        var request = AcpJson.Read<FileRequest>(parameters);
        if (request?.Path is not { Length: > 0 } requested)
        {
            return JsonRpcReply.Failure(JsonRpcErrors.InvalidParams, "'path' is required.");
        }

        // The protocol requires absolute paths; a relative one is a confused agent, not something to guess about.
        if (!Path.IsPathRooted(requested))
        {
            return JsonRpcReply.Failure(JsonRpcErrors.InvalidParams, $"'{requested}' is not an absolute path.");
        }

        if (RealPath.InsideRoot(_root, requested) is not { } real)
        {
            return JsonRpcReply.Failure(JsonRpcErrors.InvalidParams, $"'{requested}' is outside the project root.", Data("OUTSIDE_PROJECT_ROOT", requested));
        }

        try
        {
            return method switch
            {
                "fs/read_text_file" => await ReadAsync(real, request, cancellationToken).ConfigureAwait(false),
                "fs/write_text_file" => await WriteAsync(real, request, cancellationToken).ConfigureAwait(false),
                _ => JsonRpcReply.Failure(JsonRpcErrors.MethodNotFound, $"Unknown method '{method}'."),
            };
        }
        catch (UnauthorizedAccessException exception)
        {
            return JsonRpcReply.Failure(JsonRpcErrors.InternalError, $"Permission denied: {exception.Message}");
        }
        catch (IOException exception)
        {
            return JsonRpcReply.Failure(JsonRpcErrors.InternalError, exception.Message);
        }
    }

    private Task<JsonRpcReply> ReadAsync(string real, FileRequest request, CancellationToken cancellationToken)
    {
        string content;
        try
        {
            // Opened through the root's handle without following links, and checked to be a regular file on the handle.
            using var handle = BeneathRoot.OpenFileForRead(_root, Relative(real), out var status);
            if (status.Size > MaxFileBytes)
            {
                return Task.FromResult(JsonRpcReply.Failure(JsonRpcErrors.InvalidParams, $"'{real}' is larger than {MaxFileBytes / (1024 * 1024)} MiB."));
            }

            using var stream = new FileStream(handle, FileAccess.Read);
            using var reader = new StreamReader(stream, Utf8NoBom);
            cancellationToken.ThrowIfCancellationRequested();
            content = reader.ReadToEnd();
        }
        catch (ConfinedIOException exception) when (exception.Failure == ConfinedFailure.NotFound)
        {
            return Task.FromResult(missingFileReadsEmpty
                ? Content("")
                : JsonRpcReply.Failure(AcpErrors.ResourceNotFound, $"Resource not found: {real}", Data(null, real)));
        }
        catch (ConfinedIOException exception)
        {
            return Task.FromResult(Refused(real, exception));
        }

        if (request.Line is not null || request.Limit is not null)
        {
            // 1-based line, as the protocol defines it; keep the original line endings.
            var lines = content.Split('\n');
            var start = Math.Clamp((int)(request.Line ?? 1) - 1, 0, lines.Length);
            var count = Math.Clamp((int)(request.Limit ?? int.MaxValue), 0, lines.Length - start);
            content = string.Join('\n', lines, start, count);
        }

        return Task.FromResult(Content(content));
    }

    private Task<JsonRpcReply> WriteAsync(string real, FileRequest request, CancellationToken cancellationToken)
    {
        if (request.Content is not { } content)
        {
            return Task.FromResult(JsonRpcReply.Failure(JsonRpcErrors.InvalidParams, "'content' is required."));
        }

        cancellationToken.ThrowIfCancellationRequested();
        var relative = Relative(real);
        try
        {
            // Missing folders are made one by one through their parent's handle, then the file is replaced through its own.
            if (Path.GetDirectoryName(relative) is { Length: > 0 } folder)
            {
                BeneathRoot.CreateDirectories(_root, folder);
            }

            BeneathRoot.ReplaceFile(_root, relative, Utf8NoBom.GetBytes(content));
        }
        catch (ConfinedIOException exception)
        {
            return Task.FromResult(Refused(real, exception));
        }

        return Task.FromResult(JsonRpcReply.Success(null));
    }

    private string Relative(string real) => real == _root ? "" : Path.GetRelativePath(_root, real);

    private static JsonRpcReply Refused(string real, ConfinedIOException exception) => exception.Failure switch
    {
        ConfinedFailure.Moved => JsonRpcReply.Failure(JsonRpcErrors.InvalidParams, $"'{real}' is outside the project root.", Data("OUTSIDE_PROJECT_ROOT", real)),
        ConfinedFailure.NotRegularFile => JsonRpcReply.Failure(JsonRpcErrors.InvalidParams, $"'{real}' is not a regular file.", Data("NOT_A_REGULAR_FILE", real)),
        ConfinedFailure.IsDirectory => JsonRpcReply.Failure(JsonRpcErrors.InvalidParams, $"'{real}' is a directory."),
        _ => JsonRpcReply.Failure(JsonRpcErrors.InternalError, exception.Message),
    };

    private static JsonRpcReply Content(string content) => JsonRpcReply.Success(AcpJson.Object(new ReadTextFileResponse(content)));

    private static JsonObject Data(string? code, string path) => AcpJson.Object(new FileErrorData(code, path));
}

/// <summary>ACP's own JSON-RPC error codes (the standard ones are <see cref="JsonRpcErrors"/>).</summary>
internal static class AcpErrors
{
    public const int AuthRequired = -32000;
    public const int ResourceNotFound = -32002;
}
