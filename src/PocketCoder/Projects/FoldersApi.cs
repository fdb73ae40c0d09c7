using Microsoft.AspNetCore.Mvc;

namespace PocketCoder.Projects;

/// <summary>Picking a project's folder from a phone: the owner's home browsed, and folders worth adding (docs/api.md, "Folders").</summary>
public static class FoldersApi
{
    public static IServiceCollection AddFolders(this IServiceCollection services) => services.AddSingleton<Folders>();

    public static void MapFolders(this IEndpointRouteBuilder api)
    {
        var folders = api.MapGroup("/folders");
        folders.MapGet("/", List).WithName("ListFolders");
        folders.MapGet("/suggestions", SuggestAsync).WithName("SuggestFolders");
    }

    private static FolderListing List([FromQuery] string? path, [FromQuery] bool? hidden, Folders folders) => folders.List(path, hidden ?? false);

    private static Task<FolderSuggestions> SuggestAsync(Folders folders, CancellationToken cancellationToken) => folders.SuggestAsync(cancellationToken);
}
