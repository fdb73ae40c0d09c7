using Microsoft.AspNetCore.Http.HttpResults;
using System.Security.Claims;
using PocketCoder.Auth;
using PocketCoder.Server;

namespace PocketCoder.Workspace.Files;

public static class FilesApi
{
    /// <summary>Files, and their watchers: <c>file.changed</c> events for every project, from server start.</summary>
    public static IServiceCollection AddFiles(this IServiceCollection services) =>
        services.AddSingleton<WorkspaceFiles>().AddRunningSingleton<Watcher.FileWatchers>();

    public static void MapFiles(this IEndpointRouteBuilder api)
    {
        var files = api.MapGroup("/projects/{id}/files");
        files.MapGet("/", List).WithName("ListFiles");
        files.MapGet("/content", Read).WithName("ReadFile");
        files.MapPut("/content", WriteAsync).WithName("WriteFile");
    }

    // `session`: act on that session's worktree instead of the project's folder (WorkspaceRoots).
    private static DirectoryListing List(string id, string? path, string? session, WorkspaceFiles files) => files.List(id, session, path);

    private static FileContent Read(string id, string? path, string? session, WorkspaceFiles files) => files.Read(id, session, path);

    /// <summary>
    /// The body is the file's content as is (text/plain or application/octet-stream), up to 1 MB. <c>If-Match</c> with the
    /// <c>sha256</c> the file was read at makes the write conditional (412 FILE_CHANGED when it moved on); <c>If-None-Match: *</c>
    /// creates only.
    /// </summary>
    private static async Task<Results<Created<FileWritten>, Ok<FileWritten>>> WriteAsync(string id, string? path, string? session, HttpRequest request, WorkspaceFiles files, ClaimsPrincipal user,
        CancellationToken cancellationToken)
    {
        var replaces = request.Headers.IfNoneMatch.ToString() == "*" ? "" : request.Headers.IfMatch.ToString() is { Length: > 0 } match ? match.Trim('"') : null;
        if (request.ContentLength > WorkspaceFiles.MaxWriteBytes)
        {
            throw WorkspaceFiles.TooLargeToWrite();
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > WorkspaceFiles.MaxWriteBytes)
            {
                throw WorkspaceFiles.TooLargeToWrite();
            }

            buffer.Write(chunk, 0, read);
        }

        var written = files.Write(id, session, path, buffer.ToArray(), user.Actor(), replaces);
        return written.Created ? TypedResults.Created($"/api/projects/{id}/files/content?path={Uri.EscapeDataString(written.Path)}", written) : TypedResults.Ok(written);
    }
}
