using System.Net;
using System.Net.Http.Json;
using FakeLlm;
using PocketCoder.Teams;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// Live preview on the phone (web/e2e/preview.mjs), with the REAL Claude Code CLI sandboxed: a dev server (HTTP and a websocket)
/// the agent starts with an allowed command is listed in the session's Preview panel with its process, opens in a new tab on the
/// preview origin (another port), its websocket message arrives, script there cannot read the app's cookie nor use its API, the
/// preview is closed from the phone, and ends with the session. A viewer gets no preview.
/// </summary>
public sealed class PreviewBrowserTests(ITestOutputHelper output)
{
    private const int DevPort = 5173;

    // A dev server as small as it gets: a page whose script opens a websocket to its own origin, the message that socket sends
    // (a hot reload's), and what cookies it was sent.
    internal const string DevServer = """
        const http = require('http');
        const crypto = require('crypto');
        const page = `<!doctype html><html><body><h1>Built by the agent</h1><p id="ws">waiting</p><script>
        const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/hmr');
        ws.onmessage = (e) => { document.getElementById('ws').textContent = e.data; };
        </script></body></html>`;
        const server = http.createServer((req, res) => {
          if (req.url === '/cookies') { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(req.headers.cookie || ''); return; }
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end(page);
        });
        server.on('upgrade', (req, socket) => {
          const accept = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
          socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ' + accept + '\r\n\r\n');
          const text = Buffer.from('hot reload: app.js changed');
          socket.write(Buffer.concat([Buffer.from([0x81, text.length]), text]));
        });
        server.listen(5173, '127.0.0.1');
        """;

    [Fact]
    public async Task PhoneApp_ADevServerInTheSandbox_Listed_OpenedOnItsOwnOrigin_WebsocketArrives_NoWayToTheApp_EndsWithTheSession()
    {
        TestServer? world = null;
        await BrowserScript.RunAsync(output, "preview.mjs",
            (server, model, repository, _) =>
            {
                world = server;
                File.WriteAllText(Path.Combine(repository, "devserver.js"), DevServer);
                model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "node devserver.js", run_in_background = true, description = "Start the dev server" }),
                    ScriptedReply.Text("The dev server runs on port 5173."));
                return Task.CompletedTask;
            },
            async _ =>
            {
                // Each opening is in the ledger; a viewer gets no preview, with the table's stable code.
                Assert.Equal("2", world!.ReadDatabase("SELECT count(*) FROM ledger WHERE action = 'preview.opened'"));
                Assert.Equal("1", world.ReadDatabase("SELECT count(*) FROM ledger WHERE action = 'preview.closed'"));
                var sessionId = world.ReadDatabase("SELECT id FROM sessions")!;
                var viewer = await world.PairPersonAsync("Vic", Role.Viewer);
                await ApiAssert.ProblemAsync(await viewer.Http.PostAsJsonAsync($"/api/sessions/{sessionId}/previews", new { port = DevPort }),
                    HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
                Assert.Equal("0", world.ReadDatabase("SELECT count(*) FROM ledger WHERE action = 'preview.opened' AND actor = 'Vic'"));
            },
            pauseWaitingAfter: null, bubblewrap: null, networkHosts: null, "--port", DevPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
