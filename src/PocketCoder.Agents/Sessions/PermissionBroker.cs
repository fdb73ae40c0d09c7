using System.Collections.Concurrent;

namespace PocketCoder.Agents.Sessions;

/// <summary>
/// One session's open permission requests, for every adapter alike: each is put to the gatekeeper (the sink) off the
/// agent's reader, can be withdrawn (the agent took it back, the turn was cancelled, the process went away), and its
/// decision is normalised before the adapter maps it to its protocol:
/// <list type="bullet">
/// <item>an edited input the agent cannot apply becomes a refusal, never the original call;</item>
/// <item>"for this session" is dropped: a grant lives in the gatekeeper, which then still sees (and ledgers) every
/// later call. The adapter always answers "once", so the agent's own memory never skips the gate.</item>
/// </list>
/// </summary>
internal sealed class PermissionBroker(IAgentSink sink, bool appliesEditedInput, string agentName, CancellationToken lifetime)
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _open = new(StringComparer.Ordinal);

    /// <summary>Requests waiting for the owner (for tests and diagnostics).</summary>
    public int OpenCount => _open.Count;

    /// <summary>
    /// Puts <paramref name="request"/> to the gatekeeper and returns at once. <paramref name="answer"/> receives the
    /// normalised decision; <paramref name="withdrawn"/>, when given, runs instead if the request is withdrawn first
    /// (ACP wants a "cancelled" outcome then; other agents expect nothing).
    /// </summary>
    public void Ask(string key, PermissionRequest request, Func<PermissionDecision, Task> answer, Func<Task>? withdrawn = null)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(lifetime);
        if (!_open.TryAdd(key, source))
        {
            // The agent asked twice under one id: the first question stands.
            source.Dispose();
            return;
        }

        _ = Task.Run(() => DecideAsync(key, request, answer, withdrawn, source), CancellationToken.None);
    }

    /// <summary>The agent took one request back (or it was answered elsewhere).</summary>
    public async Task WithdrawAsync(string key)
    {
        if (_open.TryRemove(key, out var source))
        {
            await CancelQuietlyAsync(source).ConfigureAwait(false);
        }
    }

    /// <summary>Every open request is withdrawn: the turn is cancelled, or the agent is gone.</summary>
    public async Task WithdrawAllAsync()
    {
        foreach (var key in _open.Keys)
        {
            await WithdrawAsync(key).ConfigureAwait(false);
        }
    }

    /// <summary>The decision an adapter may act on (see the type's summary).</summary>
    internal static PermissionDecision Normalise(PermissionDecision decision, PermissionRequest request, bool appliesEditedInput, string agentName)
    {
        if (request.Kind == ToolKind.Question)
        {
            return decision with { Remember = false }; // Its answers, which every agent that asks takes back.
        }

        if (decision.Allow && decision.UpdatedInput is { } edited && !appliesEditedInput
            && edited.GetRawText() != request.Input.GetRawText())
        {
            return PermissionDecision.Deny(
                $"The owner allowed this call only with changes, which {agentName} cannot apply, so nothing ran. " +
                $"Propose the changed call yourself; the owner's version: {edited.GetRawText()}");
        }

        return decision.Allow && !appliesEditedInput
            ? decision with { UpdatedInput = null, Remember = false }
            : decision with { Remember = false };
    }

    private async Task DecideAsync(string key, PermissionRequest request, Func<PermissionDecision, Task> answer, Func<Task>? withdrawn,
        CancellationTokenSource source)
    {
        try
        {
            PermissionDecision decision;
            try
            {
                decision = await sink.RequestPermissionAsync(request, source.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                if (withdrawn is not null && !lifetime.IsCancellationRequested)
                {
                    await withdrawn().ConfigureAwait(false);
                }

                return;
            }

            await answer(Normalise(decision, request, appliesEditedInput, agentName)).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is InvalidOperationException or ObjectDisposedException or OperationCanceledException
                                          || lifetime.IsCancellationRequested)
        {
            // The agent is gone (or going): nobody is waiting for the answer.
        }
        catch (Exception exception)
        {
            // The decision was made but could not be delivered: the owner must know the agent did not get it.
            await sink.OnEventAsync(new AgentError($"The decision on '{request.Title}' could not be delivered to {agentName}: {exception.Message}"),
                CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            if (_open.TryGetValue(key, out var current) && current == source)
            {
                _open.TryRemove(key, out _);
            }

            source.Dispose();
        }
    }

    private static async Task CancelQuietlyAsync(CancellationTokenSource source)
    {
        try
        {
            await source.CancelAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // Decided meanwhile.
        }
    }
}
