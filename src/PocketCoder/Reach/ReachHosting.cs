using System.Net.Security;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using PocketCoder.Hub;
using PocketCoder.Reach.Acme;
using PocketCoder.Reach.Hub;
using PocketCoder.Server;

namespace PocketCoder.Reach;

/// <summary>Where phones reach the server: Kestrel's listeners (the listen address, the hub's tunnel), TLS, and ACME's answers.</summary>
public static class ReachHosting
{
    /// <summary>Kestrel as the options ask; returns the ACME challenges its listeners answer, for <see cref="AddReach"/>.</summary>
    public static AlpnChallenges UseReach(this IWebHostBuilder web, PocketCoderOptions options, Previews.PreviewOrigin preview)
    {
        if (options.Certificate is not null)
        {
            // The slim builder leaves TLS out; only a server with a certificate pays for it.
            web.UseKestrelHttpsConfiguration();
        }

        var challenges = new AlpnChallenges();
        web.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = PocketCoderServer.MaxRequestBodyBytes;
            if (options.Certificate is { } certificate)
            {
                kestrel.ConfigureHttpsDefaults(https =>
                {
                    // Kestrel checks this one at start; each handshake then presents the current files, intermediates included.
                    https.ServerCertificate = certificate.Certificate;
                    https.OnAuthenticate = (_, tls) => tls.ServerCertificateContext = certificate.Context;
                });
            }

            KestrelListen.Bind(kestrel, options.Listen, listen =>
            {
                if (KestrelListen.IsHttps(options.Listen))
                {
                    if (options.Acme is not null)
                    {
                        // Serving its own name over https: ACME's TLS-ALPN-01 validation arrives here.
                        listen.Use(next => connection => challenges.RespondAsync(connection, next));
                    }

                    listen.UseHttps();
                }
            });
            // The preview origin: the same address, another port (docs/security.md, "Previews").
            preview.Bind(kestrel, options);
            if (options.Hub is not null)
            {
                // Phones through the hub: TLS ends here, in this Kestrel, with this machine's certificate. ACME's
                // TLS-ALPN-01 validation arrives the same way and is answered ahead of it.
                kestrel.Listen(new HubEndPoint(), listen =>
                {
                    listen.Use(next => connection => challenges.RespondAsync(connection, next));
                    listen.UseHttps(new TlsHandshakeCallbackOptions
                    {
                        OnConnection = context => ValueTask.FromResult(HubTls(options, preview, context.ClientHelloInfo.ServerName)),
                    });
                });
            }
        });
        return challenges;
    }

    /// <summary>
    /// TLS for a connection through the hub, by the name it asks for: the preview origin's certificate for the preview host
    /// (ACME's second certificate, or the owner's own when it names both), the machine's for anything else.
    /// </summary>
    private static SslServerAuthenticationOptions HubTls(PocketCoderOptions options, Previews.PreviewOrigin preview, string? serverName)
    {
        var previewing = string.Equals(serverName, preview.HubHost, StringComparison.OrdinalIgnoreCase);
        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = (previewing ? options.PreviewCertificate ?? options.Certificate! : options.Certificate!).Context,
            // The preview relays websockets as HTTP/1.1 upgrades (a dev server's hot reload); over HTTP/2 a browser would
            // ask for them with an extended CONNECT, which the relay does not speak.
            ApplicationProtocols = previewing ? [SslApplicationProtocol.Http11] : [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
        };
    }

    /// <summary>What <see cref="UseReach"/>'s listeners use: the hub's tunnel and its link, the challenges, certificate renewal.</summary>
    public static IServiceCollection AddReach(this IServiceCollection services, PocketCoderOptions options, AlpnChallenges challenges)
    {
        if (options.Hub is not null)
        {
            services.AddSingleton<HubTransport>()
                .AddSingleton<IConnectionListenerFactory>(provider => provider.GetRequiredService<HubTransport>())
                .AddRunningSingleton<HubLink>();
        }

        services.AddSingleton(challenges);
        return options.Acme is null ? services : services.AddRunningSingleton<AcmeRenewal>();
    }
}
