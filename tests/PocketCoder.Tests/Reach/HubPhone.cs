using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace PocketCoder.Tests.Reach;

internal static class HubPhone
{
    /// <summary>A phone: https://NAME.hub.test:PORT, its connection made to the hub's port on loopback, trusting the test CA.</summary>
    public static HttpClient Create(TestCertificates certificates, int hubPort, List<string> seen, string machine = "m1", bool check = true, Socket? connect = null) => new(new SocketsHttpHandler
    {
        UseCookies = false,
        // A redirect is the answer a test reads (a preview's exchange sets its cookie on one), as a browser would.
        AllowAutoRedirect = false,
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = connect ?? new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, hubPort, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
        SslOptions =
        {
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                var presented = (X509Certificate2)certificate!;
                lock (seen)
                {
                    seen.Add(presented.Thumbprint);
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(certificates.Root);
                chain.ChainPolicy.ExtraStore.Add(certificates.Intermediate);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return !check || (chain.Build(presented) && !errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch));
            },
        },
    })
    { BaseAddress = new Uri(machine.Contains('.') ? $"https://{machine}:{hubPort}" : $"https://{machine}.hub.test:{hubPort}"), Timeout = TimeSpan.FromSeconds(30) };
}
