namespace PocketCoder.Projects;

/// <summary>
/// Lets features that keep something per project (the file watcher, the terminal) hear when one is added
/// or removed, without <see cref="Projects"/> knowing about them. Called after the change has committed.
/// </summary>
public sealed class ProjectHooks
{
    public event Action<Project>? Added;

    public event Action<string>? Removed;

    internal void OnAdded(Project project) => Added?.Invoke(project);

    internal void OnRemoved(string projectId) => Removed?.Invoke(projectId);
}
