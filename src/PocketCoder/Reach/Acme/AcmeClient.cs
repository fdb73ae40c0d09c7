using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PocketCoder.Reach.Acme;

/// <summary>An ACME server's refusal (RFC 8555 problem document), in its own words.</summary>
public sealed class AcmeException(string message) : Exception(message);

/// <summary>
/// A small ACME (RFC 8555) client: an account key (ECDSA P-256, ES256 JWS), one order for one name, its
/// TLS-ALPN-01 challenge (RFC 8737) answered by <see cref="AlpnChallenges"/> on this machine, a CSR for a new key, and
/// the certificate chain. No ACME library is available here; this is the part of the protocol one name needs.
/// </summary>
public sealed class AcmeClient(HttpClient http, Uri directoryUrl, ECDsa accountKey, TimeProvider clock)
{
    private const string JoseJson = "application/jose+json";
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PollLimit = TimeSpan.FromMinutes(3);

    private JsonElement _directory;
    private string? _nonce;
    private string? _accountUrl;

    /// <summary>The JWK thumbprint (RFC 7638) that key authorizations end with.</summary>
    public string Thumbprint => Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes(Jwk().ToJsonString())));

    /// <summary>
    /// Orders a certificate for <paramref name="name"/>, proving control with TLS-ALPN-01; returns the PEM chain and
    /// the new private key (PKCS#8 PEM). The challenge certificate is offered only while the server validates.
    /// </summary>
    public async Task<(string CertificatePem, string KeyPem)> OrderAsync(string name, AlpnChallenges challenges, CancellationToken cancellationToken)
    {
        await EnsureAccountAsync(cancellationToken);
        var (order, orderUrl) = await PostAsync(Url("newOrder"),
            new JsonObject { ["identifiers"] = new JsonArray(new JsonObject { ["type"] = "dns", ["value"] = name }) }, cancellationToken);
        foreach (var authorization in order.GetProperty("authorizations").EnumerateArray())
        {
            await AuthorizeAsync(authorization.GetString()!, name, challenges, cancellationToken);
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = CertificateRequestFor(name, key);
        await PostAsync(order.GetProperty("finalize").GetString()!, new JsonObject { ["csr"] = Base64Url(request.CreateSigningRequest()) }, cancellationToken);
        var done = await PollAsync(orderUrl!, "valid", cancellationToken);
        using var chain = await SendAsync(done.GetProperty("certificate").GetString()!, null, "application/pem-certificate-chain", useJwk: false,
            cancellationToken);
        return (await chain.Content.ReadAsStringAsync(cancellationToken), key.ExportPkcs8PrivateKeyPem());
    }

    private async Task AuthorizeAsync(string authorizationUrl, string name, AlpnChallenges challenges, CancellationToken cancellationToken)
    {
        var (authorization, _) = await PostAsync(authorizationUrl, null, cancellationToken);
        if (authorization.GetProperty("status").GetString() == "valid")
        {
            return;
        }

        var challenge = authorization.GetProperty("challenges").EnumerateArray()
            .FirstOrDefault(c => c.GetProperty("type").GetString() == "tls-alpn-01");
        if (challenge.ValueKind != JsonValueKind.Object)
        {
            throw new AcmeException($"The ACME server offers no tls-alpn-01 challenge for {name}.");
        }

        var keyAuthorization = challenge.GetProperty("token").GetString() + "." + Thumbprint;
        using var answer = challenges.Offer(name, keyAuthorization);
        await PostAsync(challenge.GetProperty("url").GetString()!, new JsonObject(), cancellationToken);
        await PollAsync(authorizationUrl, "valid", cancellationToken);
    }

    /// <summary>POST-as-GET until the object's status is <paramref name="wanted"/>; "invalid" ends it with the server's reason.</summary>
    private async Task<JsonElement> PollAsync(string url, string wanted, CancellationToken cancellationToken)
    {
        var deadline = clock.GetUtcNow() + PollLimit;
        while (true)
        {
            var (state, _) = await PostAsync(url, null, cancellationToken);
            var status = state.GetProperty("status").GetString();
            if (status == wanted)
            {
                return state;
            }

            if (status == "invalid" || clock.GetUtcNow() > deadline)
            {
                throw new AcmeException($"The ACME server says {url} is {status}: {Reason(state)}");
            }

            await Task.Delay(PollInterval, clock, cancellationToken);
        }
    }

    private static string Reason(JsonElement state)
    {
        // An invalid authorization names its failed challenge's error; an order its own.
        if (state.TryGetProperty("error", out var error))
        {
            return error.GetProperty("detail").GetString() ?? error.ToString();
        }

        return state.TryGetProperty("challenges", out var list)
            ? string.Join("; ", list.EnumerateArray().Where(c => c.TryGetProperty("error", out _)).Select(c => c.GetProperty("error").GetProperty("detail").GetString()))
            : "no reason given";
    }

    private async Task EnsureAccountAsync(CancellationToken cancellationToken)
    {
        if (_accountUrl is not null)
        {
            return;
        }

        using var directory = await http.GetAsync(directoryUrl, cancellationToken);
        _directory = await ReadJsonAsync(directory, cancellationToken);
        // An existing account for this key is returned as it is (200), a new one created (201): either way its URL is the kid.
        var (_, location) = await PostAsync(Url("newAccount"), new JsonObject { ["termsOfServiceAgreed"] = true }, cancellationToken, useJwk: true);
        _accountUrl = location ?? throw new AcmeException("The ACME server returned no account URL.");
    }

    private string Url(string name) => _directory.GetProperty(name).GetString() ?? throw new AcmeException($"The ACME directory has no {name}.");

    private async Task<(JsonElement Body, string? Location)> PostAsync(string url, JsonNode? payload, CancellationToken cancellationToken, bool useJwk = false)
    {
        using var response = await SendAsync(url, payload, null, useJwk, cancellationToken);
        return (await ReadJsonAsync(response, cancellationToken), response.Headers.Location?.ToString());
    }

    /// <summary>One signed request; a badNonce refusal is retried with the fresh nonce it carries, as the RFC asks.</summary>
    private async Task<HttpResponseMessage> SendAsync(string url, JsonNode? payload, string? accept, bool useJwk, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var body = Sign(url, payload, await NonceAsync(cancellationToken), useJwk);
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(JoseJson);
            if (accept is not null)
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
            }

            var response = await http.SendAsync(request, cancellationToken);
            _nonce = response.Headers.TryGetValues("Replay-Nonce", out var nonces) ? nonces.FirstOrDefault() : null;
            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            var problem = await response.Content.ReadAsStringAsync(cancellationToken);
            response.Dispose();
            if (attempt < 5 && problem.Contains("urn:ietf:params:acme:error:badNonce", StringComparison.Ordinal))
            {
                continue;
            }

            throw new AcmeException($"The ACME server refused {url} ({(int)response.StatusCode}): {Detail(problem)}");
        }
    }

    private async Task<string> NonceAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _nonce, null) is { } nonce)
        {
            return nonce;
        }

        using var request = new HttpRequestMessage(HttpMethod.Head, Url("newNonce"));
        using var response = await http.SendAsync(request, cancellationToken);
        return response.Headers.TryGetValues("Replay-Nonce", out var nonces) ? nonces.First() : throw new AcmeException("The ACME server gave no nonce.");
    }

    /// <summary>Flattened JWS (RFC 7515) with ES256: the signature is r||s, which is .NET's default ECDSA format.</summary>
    private string Sign(string url, JsonNode? payload, string nonce, bool useJwk)
    {
        var header = new JsonObject { ["alg"] = "ES256", ["nonce"] = nonce, ["url"] = url };
        if (useJwk)
        {
            header["jwk"] = Jwk();
        }
        else
        {
            header["kid"] = _accountUrl;
        }

        var protectedPart = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString()));
        // POST-as-GET signs an empty payload.
        var payloadPart = payload is null ? "" : Base64Url(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        var signature = accountKey.SignData(Encoding.ASCII.GetBytes(protectedPart + "." + payloadPart), HashAlgorithmName.SHA256);
        return new JsonObject { ["protected"] = protectedPart, ["payload"] = payloadPart, ["signature"] = Base64Url(signature) }.ToJsonString();
    }

    /// <summary>The account key's public JWK, members in the order RFC 7638 hashes them.</summary>
    private JsonObject Jwk()
    {
        var point = accountKey.ExportParameters(includePrivateParameters: false).Q;
        return new JsonObject { ["crv"] = "P-256", ["kty"] = "EC", ["x"] = Base64Url(point.X!), ["y"] = Base64Url(point.Y!) };
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new AcmeException($"The ACME server answered {(int)response.StatusCode}: {Detail(text)}");
        }

        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static string Detail(string problem)
    {
        try
        {
            return JsonDocument.Parse(problem).RootElement.GetProperty("detail").GetString() ?? problem;
        }
        catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return problem.Length > 300 ? problem[..300] : problem;
        }
    }

    internal static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    /// <summary>A request for a certificate naming <paramref name="name"/> (as subject and as DNS subject alternative name).</summary>
    internal static CertificateRequest CertificateRequestFor(string name, ECDsa key)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(name);
        request.CertificateExtensions.Add(names.Build());
        return request;
    }
}
