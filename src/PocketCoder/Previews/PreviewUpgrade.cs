using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http.Features;

namespace PocketCoder.Previews;

/// <summary>
/// A websocket (or any HTTP/1.1 upgrade: a dev server's hot reload) through the preview: the request's head written to the server
/// inside as it came (less PocketCoder's cookies, with the sandbox's own host name), the server's answer read; on <c>101</c> the
/// browser's connection is upgraded with the server's headers and the bytes then go both ways until either side closes.
/// </summary>
internal static class PreviewUpgrade
{
    /// <summary>An answer's head larger than this is not a server's answer to an upgrade.</summary>
    private const int MaxHead = 16 * 1024;

    public static async Task RelayAsync(HttpContext context, IHttpUpgradeFeature upgrade, Func<CancellationToken, Task<Socket>> connect, int port,
        CancellationToken cancellationToken)
    {
        using var socket = await connect(cancellationToken);
        await using var inside = new NetworkStream(socket, ownsSocket: false);
        await inside.WriteAsync(Encoding.Latin1.GetBytes(Head(context.Request, port)), cancellationToken);

        var (status, headers, rest) = await ReadAnswerAsync(inside, cancellationToken);
        if (status != StatusCodes.Status101SwitchingProtocols)
        {
            await PreviewProxy.RefuseAsync(context, StatusCodes.Status502BadGateway, "PREVIEW_UPGRADE_REFUSED", $"The server on port {port} answered the upgrade with {status}.");
            return;
        }

        foreach (var (name, value) in headers.Where(h => !h.Name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && PreviewHeaders.Relayed(h.Name, h.Value)))
        {
            context.Response.Headers.Append(name, value);
        }

        PreviewHeaders.Add(context.Response.Headers);

        await using var browser = await upgrade.UpgradeAsync();
        await browser.WriteAsync(rest, cancellationToken);
        await browser.FlushAsync(cancellationToken);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var toServer = Pump(browser, inside, done.Token);
        var toBrowser = Pump(inside, browser, done.Token);
        await Task.WhenAny(toServer, toBrowser);
        await done.CancelAsync();
        socket.Shutdown(SocketShutdown.Both);
    }

    private static async Task Pump(Stream from, Stream to, CancellationToken cancellationToken)
    {
        try
        {
            await from.CopyToAsync(to, cancellationToken);
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Either side went: the other is closed by the caller.
        }
    }

    /// <summary>The request's head for the server inside: its own method, target and headers, less PocketCoder's cookies.</summary>
    internal static string Head(HttpRequest request, int port)
    {
        var head = new StringBuilder($"{request.Method} {request.PathBase}{request.Path}{request.QueryString} HTTP/1.1\r\nHost: localhost:{port}\r\n");
        foreach (var (name, values) in request.Headers)
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.Equals("Cookie", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            foreach (var value in values)
            {
                head.Append(name).Append(": ").Append(value).Append("\r\n");
            }
        }

        if (PreviewCookie.Strip(request.Headers.Cookie) is { } cookie)
        {
            head.Append("Cookie: ").Append(cookie).Append("\r\n");
        }

        return head.Append("\r\n").ToString();
    }

    /// <summary>Reads the answer's head: its status, its headers, and whatever bytes came after it.</summary>
    private static async Task<(int Status, List<(string Name, string Value)> Headers, byte[] After)> ReadAnswerAsync(Stream inside, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxHead];
        var length = 0;
        int end;
        while ((end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
        {
            var read = length < buffer.Length ? await inside.ReadAsync(buffer.AsMemory(length), cancellationToken) : 0;
            if (read == 0)
            {
                throw new IOException("the server closed before answering the upgrade.");
            }

            length += read;
        }

        var lines = Encoding.Latin1.GetString(buffer, 0, end).Split("\r\n");
        var status = lines[0].Split(' ') is [_, var code, ..] && int.TryParse(code, out var number) ? number : 0;
        var headers = lines.Skip(1).Select(line => line.Split(':', 2)).Where(pair => pair.Length == 2)
            .Select(pair => (pair[0].Trim(), pair[1].Trim())).ToList();
        return (status, headers, buffer[(end + 4)..length]);
    }
}
