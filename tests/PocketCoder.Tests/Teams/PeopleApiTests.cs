using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Teams;

namespace PocketCoder.Tests.Teams;

/// <summary>People, their roles and their devices, through the API an owner's phone uses.</summary>
public sealed class PeopleApiTests
{
    [Fact]
    public async Task OwnersInvite_TheCodePairsADeviceOfThatPerson_WithTheirRole()
    {
        await using var server = await TestServer.StartAsync();
        var owner = await server.PairAsync("owner's phone");

        var invite = await owner.Http.PostAsJsonAsync("/api/people", new { name = "Ana", role = "approver" });
        Assert.Equal(HttpStatusCode.Created, invite.StatusCode);
        var body = await ApiAssert.OkJsonAsync(invite);
        var code = body.GetProperty("code").GetString()!;
        var paired = await ApiAssert.OkJsonAsync(await server.Anonymous.PostAsJsonAsync("/api/pair", new { code, deviceName = "Ana's phone" }));
        using var ana = new HttpClient { BaseAddress = server.BaseUrl };
        ana.DefaultRequestHeaders.Authorization = new("Bearer", paired.GetProperty("token").GetString());

        var me = await ana.GetOkAsync("/api/people/me");
        Assert.Equal("Ana", me.GetProperty("person").GetProperty("name").GetString());
        Assert.Equal("approver", me.GetProperty("person").GetProperty("role").GetString());
        Assert.Equal(paired.GetProperty("deviceId").GetString(), me.GetProperty("deviceId").GetString());

        var people = await owner.Http.GetOkAsync("/api/people");
        Assert.Equal(["Owner", "Ana"], people.EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        var anaListed = people.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "Ana");
        Assert.Equal(["Ana's phone"], anaListed.GetProperty("devices").EnumerateArray().Select(d => d.GetProperty("name").GetString()));

        // Not an owner: Ana may not invite anyone, but may pair another device of her own.
        await ApiAssert.ProblemAsync(await ana.PostAsJsonAsync("/api/people", new { name = "Eve", role = "owner" }), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        var ownerId = people.EnumerateArray().First().GetProperty("id").GetString();
        await ApiAssert.ProblemAsync(await ana.PostAsync($"/api/people/{ownerId}/invites", null), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        await ApiAssert.OkJsonAsync(await ana.PostAsync($"/api/people/{anaListed.GetProperty("id").GetString()}/invites", null));
    }

    [Fact]
    public async Task RevokingAPerson_EndsEveryDeviceOfTheirs_AndTheirInvitesPairNothing()
    {
        await using var server = await TestServer.StartAsync();
        var owner = await server.PairAsync();
        var ana = await server.PairPersonAsync("Ana", Role.Operator);
        var anaId = (await ana.Http.GetOkAsync("/api/people/me")).GetProperty("person").GetProperty("id").GetString()!;
        var laptop = await server.PairDeviceOfAsync(anaId, "Ana's laptop");
        var unused = (await ana.Http.PostOkAsync($"/api/people/{anaId}/invites", new { })).GetProperty("code").GetString();

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Http.DeleteAsync($"/api/people/{anaId}")).StatusCode);

        await ApiAssert.ProblemAsync(await ana.Http.GetAsync("/api/projects"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        await ApiAssert.ProblemAsync(await laptop.Http.GetAsync("/api/projects"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        await ApiAssert.ProblemAsync(await server.Anonymous.PostAsJsonAsync("/api/pair", new { code = unused, deviceName = "again" }),
            HttpStatusCode.Unauthorized, "PAIRING_CODE_INVALID");
        var ledger = (await owner.Http.GetOkAsync("/api/ledger")).GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Contains("person.revoked", ledger);
        Assert.Equal(2, ledger.Count(a => a == "device.revoked"));
    }

    [Fact]
    public async Task RevokingADevice_VoidsTheCodesItMade_TheRestOfItsPersonsCodesStillPair()
    {
        await using var server = await TestServer.StartAsync();
        var owner = await server.PairAsync();
        var ana = await server.PairPersonAsync("Ana", Role.Operator);
        var anaId = (await ana.Http.GetOkAsync("/api/people/me")).GetProperty("person").GetProperty("id").GetString()!;
        var laptop = await server.PairDeviceOfAsync(anaId, "Ana's laptop");
        // A stolen phone mints codes for "its own next device" before the owner notices.
        var minted = (await ana.Http.PostOkAsync($"/api/people/{anaId}/invites", new { })).GetProperty("code").GetString();
        var fromLaptop = (await laptop.Http.PostOkAsync($"/api/people/{anaId}/invites", new { })).GetProperty("code").GetString();

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Http.DeleteAsync($"/api/devices/{ana.DeviceId}")).StatusCode);

        await ApiAssert.ProblemAsync(await server.Anonymous.PostAsJsonAsync("/api/pair", new { code = minted, deviceName = "the thief's" }),
            HttpStatusCode.Unauthorized, "PAIRING_CODE_INVALID");
        await ApiAssert.OkJsonAsync(await server.Anonymous.PostAsJsonAsync("/api/pair", new { code = fromLaptop, deviceName = "Ana's new phone" }));
        var revoked = (await owner.Http.GetOkAsync("/api/ledger")).GetProperty("entries").EnumerateArray().Single(e => e.GetProperty("action").GetString() == "device.revoked");
        Assert.Equal(1, revoked.GetProperty("detail").GetProperty("pairingCodesVoided").GetInt32());
    }

    [Fact]
    public async Task TheLastOwner_CannotBeDemotedOrRevoked()
    {
        await using var server = await TestServer.StartAsync();
        var owner = await server.PairAsync();
        var ownerId = (await owner.Http.GetOkAsync("/api/people/me")).GetProperty("person").GetProperty("id").GetString();

        await ApiAssert.ProblemAsync(await owner.Http.PatchAsJsonAsync($"/api/people/{ownerId}", new { role = "viewer" }), HttpStatusCode.Conflict, "LAST_OWNER");
        await ApiAssert.ProblemAsync(await owner.Http.DeleteAsync($"/api/people/{ownerId}"), HttpStatusCode.Conflict, "LAST_OWNER");

        // With a second owner, the first may step down; the change is the ledger's and takes effect at once.
        await server.PairPersonAsync("Bo", Role.Owner);
        await ApiAssert.OkJsonAsync(await owner.Http.PatchAsJsonAsync($"/api/people/{ownerId}", new { role = "viewer" }));
        await ApiAssert.ProblemAsync(await owner.Http.PostAsJsonAsync("/api/people", new { name = "Cy", role = "viewer" }), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
    }

    [Fact]
    public async Task BadInput_ProblemJsonWithAStableCode()
    {
        await using var server = await TestServer.StartAsync();
        var owner = await server.PairAsync();

        await ApiAssert.ProblemAsync(await owner.Http.PostAsJsonAsync("/api/people", new { name = "Ana", role = "admin" }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await owner.Http.PostAsJsonAsync("/api/people", new { name = " ", role = "viewer" }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await owner.Http.PatchAsJsonAsync("/api/people/nobody", new { role = "viewer" }), HttpStatusCode.NotFound, "PERSON_NOT_FOUND");
        var project = await owner.Http.PostOkAsync("/api/projects", new { path = TempPaths.NewDirectory("pc-people") });
        var policy = $"/api/projects/{project.GetProperty("id").GetString()}/policy";
        await ApiAssert.ProblemAsync(await owner.Http.PutAsJsonAsync(policy, new { deciders = new Dictionary<string, string> { ["shell"] = "viewer" } }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await owner.Http.PutAsJsonAsync(policy, new { twoPerson = new[] { "deploy" } }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await owner.Http.PutAsJsonAsync(policy, new { budget = new { period = "week" } }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        var saved = await ApiAssert.OkJsonAsync(await owner.Http.PutAsJsonAsync(policy, new { twoPerson = new[] { "shell" }, escalateAfterSeconds = 300 }));
        Assert.Equal("approver", saved.GetProperty("deciders").GetProperty("protected").GetString());
        Assert.Equal(["shell"], saved.GetProperty("twoPerson").EnumerateArray().Select(e => e.GetString()));
    }

    /// <summary>Before people, every device could do everything: an upgraded machine's devices become one owner's, not several owners.</summary>
    [Fact]
    public async Task Upgrade_ExistingDevicesBecomeOneOwnersDevices()
    {
        var data = TempPaths.NewDirectory("pc-upgrade");
        try
        {
            // The database as migration 021 left it, with two paired devices and their tokens.
            var assembly = typeof(Database).Assembly;
            using (var connection = new SqliteConnection($"Data Source={Path.Combine(data, Database.FileName)};Pooling=False"))
            {
                connection.Open();
                foreach (var name in assembly.GetManifestResourceNames().Where(n => n.Contains(".Data.Migrations.", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
                             .Where(n => int.Parse(n[(n.IndexOf(".Data.Migrations.", StringComparison.Ordinal) + 17)..][..3], System.Globalization.CultureInfo.InvariantCulture) <= 21))
                {
                    using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
                    connection.Execute(reader.ReadToEnd());
                }

                connection.Execute("PRAGMA user_version = 21;");
                foreach (var (id, token) in new[] { ("d1", "pc_one"), ("d2", "pc_two") })
                {
                    connection.Execute("INSERT INTO devices (id, name, token_hash, created_at) VALUES ($id, $id, $hash, '2026-01-01T00:00:00.0000000Z')",
                        ("$id", id), ("$hash", Secrets.Hash(token)));
                }
            }

            await using var server = await TestServer.StartAsync(data);
            var people = server.Services.GetRequiredService<People>();
            var one = people.OfDevice("d1");
            Assert.NotNull(one);
            Assert.Equal(Role.Owner, one.Role);
            Assert.Equal(one, people.OfDevice("d2"));
            Assert.Single(people.List());
        }
        finally
        {
            TempPaths.Delete(data);
        }
    }
}
