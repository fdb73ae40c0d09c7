using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using PocketCoder.Projects;
using PocketCoder.Realtime;

namespace PocketCoder.Workspace.Watcher;

/// <summary>
/// One <see cref="ProjectWatcher"/> per registered project, from server start and as projects come and go.
/// Batches go out on the global event stream as ephemeral <c>file.changed</c> events:
/// <c>{projectId, seq, paths, truncated}</c>, seq counting per project from 1 in each server run. A client that
/// sees a seq that is not the previous one plus one (a gap, or a restart back to 1) has missed changes and re-lists.
/// </summary>
public sealed class FileWatchers(Projects.ProjectStore projects, ProjectHooks hooks, EventHub hub, ILogger<FileWatchers> logger) : IHostedService
{
    private readonly ConcurrentDictionary<string, Watched> _watchers = new(StringComparer.Ordinal);
    private volatile bool _stopped;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        hooks.Added += OnAdded;
        hooks.Removed += Unwatch;
        foreach (var project in projects.List())
        {
            Watch(project);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopped = true;
        hooks.Added -= OnAdded;
        hooks.Removed -= Unwatch;
        foreach (var id in _watchers.Keys)
        {
            Unwatch(id);
        }

        return Task.CompletedTask;
    }

    // Hooks run inside the database's commit: set up the watcher (which walks the tree) off that path.
    private void OnAdded(Project project) => _ = Task.Run(() => Watch(project));

    private void Watch(Project project)
    {
        if (_stopped || !Directory.Exists(project.Path))
        {
            return;
        }

        var watched = new Watched();
        if (!_watchers.TryAdd(project.Id, watched))
        {
            return;
        }

        watched.Watcher = new ProjectWatcher(project.Path, batch => Publish(project.Id, watched, batch), logger);
    }

    private void Unwatch(string projectId)
    {
        if (_watchers.TryRemove(projectId, out var watched))
        {
            watched.Watcher?.Dispose();
        }
    }

    private void Publish(string projectId, Watched watched, FileChangeBatch batch)
    {
        var data = new JsonObject
        {
            ["projectId"] = projectId,
            ["seq"] = Interlocked.Increment(ref watched.Seq),
            ["paths"] = new JsonArray([.. batch.Paths.Select(p => (JsonNode)p)]),
            ["truncated"] = batch.Truncated,
        };
        hub.PublishEphemeral(new EphemeralEvent("file.changed", data.ToJsonString()));
    }

    private sealed class Watched
    {
        public long Seq;

        public ProjectWatcher? Watcher { get; set; }
    }
}
