using Microsoft.Extensions.Logging;

namespace PocketCoder.Hub;

/// <summary>How both servers (PocketCoder and the hub) log: one line per entry, our own entries at Information, the framework's from Warning.</summary>
public static class ServerLogging
{
    public static ILoggingBuilder UseServerLogging(this ILoggingBuilder logging, bool console, ILoggerProvider? sink)
    {
        logging.ClearProviders();
        if (console)
        {
            logging.AddSimpleConsole(options => options.SingleLine = true);
        }

        if (sink is not null)
        {
            logging.AddProvider(sink);
        }

        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        return logging;
    }
}
