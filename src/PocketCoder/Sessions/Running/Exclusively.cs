namespace PocketCoder;

/// <summary>Work done holding a gate of one (a <see cref="SemaphoreSlim"/> of count 1): waited for, run, always let go.</summary>
internal static class Exclusively
{
    public static async Task<T> RunAsync<T>(this SemaphoreSlim gate, Func<Task<T>> work, CancellationToken cancellationToken = default)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await work().ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    public static Task RunAsync(this SemaphoreSlim gate, Func<Task> work, CancellationToken cancellationToken = default) =>
        gate.RunAsync(async () =>
        {
            await work().ConfigureAwait(false);
            return true;
        }, cancellationToken);
}
