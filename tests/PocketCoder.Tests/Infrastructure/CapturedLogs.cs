using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>One log entry as a test sees it: the rendered message and the structured values by name.</summary>
public sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyDictionary<string, object?> Values);

/// <summary>An <see cref="ILoggerProvider"/> (and logger) that keeps every entry, for asserting what was logged.</summary>
public sealed class CapturedLogs : ILoggerProvider, ILogger
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private readonly string _category;

    public CapturedLogs()
        : this("test")
    {
    }

    private CapturedLogs(string category, ConcurrentQueue<LogEntry>? entries = null)
    {
        _category = category;
        _entries = entries ?? new ConcurrentQueue<LogEntry>();
    }

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    /// <summary>Entries with this event id (the ids are fixed in the LoggerMessage declarations).</summary>
    public IReadOnlyList<LogEntry> WithId(int eventId) => [.. _entries.Where(e => e.EventId.Id == eventId)];

    public ILogger CreateLogger(string categoryName) => new CapturedLogs(categoryName, _entries);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
            ? pairs.Where(p => p.Key != "{OriginalFormat}").ToDictionary(p => p.Key, p => p.Value)
            : new Dictionary<string, object?>();
        _entries.Enqueue(new LogEntry(_category, logLevel, eventId, formatter(state, exception), values));
    }

    public void Dispose()
    {
    }
}
