using System.Text.Json;

namespace PocketCoder.Ledger;

public sealed record LedgerEntryResponse(long Seq, string At, string Actor, string Action, string Subject, JsonElement Detail, string PrevHash, string Hash);

/// <summary>The newest entry: what a phone remembers to notice later that the chain was rewritten behind its back.</summary>
public sealed record LedgerHead(long Seq, string Hash);

public sealed record LedgerPage(IReadOnlyList<LedgerEntryResponse> Entries, long? NextAfter);

/// <summary>The key that signs this machine's ledger exports: what an auditor checks an export against, got out of band.</summary>
public sealed record LedgerKeyResponse(string Fingerprint, string PublicKeyPem, string Algorithm)
{
    public static LedgerKeyResponse From(LedgerPublicKey key) => new(key.Fingerprint, key.Pem, LedgerPublicKey.Algorithm);
}

public static class LedgerApi
{
    public const int PageSize = 200;

    public static IServiceCollection AddLedger(this IServiceCollection services) => services
        .AddSingleton<LedgerStore>()
        .AddSingleton(provider => new LedgerSigningKey(provider.GetRequiredService<Data.Database>().DataDirectory));

    public static void MapLedger(this IEndpointRouteBuilder api)
    {
        api.MapGet("/ledger", Page).WithName("ReadLedger");
        api.MapGet("/ledger/verify", Verify).WithName("VerifyLedger");
        api.MapGet("/ledger/head", (LedgerStore ledger) => ledger.Head()).WithName("LedgerHead");
        api.MapGet("/ledger/key", (LedgerSigningKey key) => LedgerKeyResponse.From(key.PublicKey)).WithName("LedgerKey");
    }

    /// <summary>Entries after <paramref name="after"/>, oldest first; <c>nextAfter</c> is set while there are more.</summary>
    private static LedgerPage Page(long? after, int? limit, LedgerStore ledger)
    {
        var size = Math.Clamp(limit ?? PageSize, 1, 1000);
        var entries = ledger.Page(Math.Max(after ?? 0, 0), size);
        return new LedgerPage(
            [.. entries.Select(e => new LedgerEntryResponse(e.Seq, e.At, e.Actor, e.Action, e.Subject, JsonElement.Parse(e.Detail), e.PrevHash, e.Hash))],
            entries.Count == size ? entries[^1].Seq : null);
    }

    private static LedgerVerification Verify(LedgerStore ledger) => ledger.Verify();
}
