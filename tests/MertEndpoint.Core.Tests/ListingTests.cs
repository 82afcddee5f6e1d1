using System.Text.Json;
using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

/// <summary>
/// A namespace's listing is read whole, page after page, before anything absent from it is taken as deleted: a
/// listing that may have left endpoints out says so, and the usage history then ends no endpoint's billing by it.
/// </summary>
public sealed class ListingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mert-listing-test-").FullName;
    private readonly DateTimeOffset _t0 = new(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Items(params string[] names) => string.Join(", ", names.Select(n => Endpoint(n)));

    /// <summary>
    /// A history where "first" and "second" were seen running at _t0, and a client 15 minutes later (past the 10 s in
    /// which a listing without an endpoint proves nothing) whose service answers <paramref name="route"/>.
    /// </summary>
    private async Task<(UsageService Usage, FakeHandler Handler, EndpointClient Client, Lines Told)> SeenBoth(Func<Recorded, HttpResponseMessage> route)
    {
        var usage = new UsageService(new UsageHistory(Path.Combine(_dir, "usage.jsonl")));
        using (var doc = JsonDocument.Parse($$"""{"items": [{{Items("first", "second")}}]}"""))
        {
            var seen = doc.RootElement.GetProperty("items").EnumerateArray().Select(e => Json.ToEndpoint(e, Ns)).ToArray();
            usage.ObserverFor(Lines.Failing()).Observe(new EndpointObservation("https://api.example/v2", Ns, ObservationKind.Read, seen, null, _t0, _t0));
            await usage.FlushAsync();
        }
        var clock = new TestClock(_t0.AddMinutes(15));
        var handler = new FakeHandler(clock, route);
        var options = Options(clock, handler);
        options.Observer = usage.ObserverFor(Lines.Failing());
        var told = new Lines();
        return (usage, handler, new EndpointClient(Token, options).With(told), told);
    }

    private static HttpResponseMessage Page(string items, string? link = null, string extra = "") =>
        Respond.Make(200, $$"""{"items": [{{items}}]{{extra}}}""", link == null ? null : h => h.TryAddWithoutValidation("Link", link));

    [Fact]
    public async Task A_listing_follows_its_Link_pages_and_an_endpoint_on_a_later_page_is_not_taken_as_deleted()
    {
        var (usage, handler, client, told) = await SeenBoth(r => r.Query switch
        {
            "" => Page(Items("first"), "</v2/endpoint/alice?page=2>; rel=\"next\""),
            "?page=2" => Page(Items("second", "first"), "<https://api.example/v2/endpoint/alice?page=3>; rel=\"next\"; title=\"more\""),
            "?page=3" => Page(""),
            _ => Respond.Make(404, Respond.Error("no such page")),
        });

        var listed = await client.ListAsync(Ns);
        await usage.FlushAsync();

        Assert.Equal(["first", "second"], listed.Select(e => e.Name));       // each once, in the order first listed
        Assert.Equal(["", "?page=2", "?page=3"], handler.Requests.Select(r => r.Query));
        Assert.All(handler.Requests, r => Assert.Equal($"Bearer {Token}", r.Authorization));
        Assert.Empty(told.Of("warning"));
        Assert.DoesNotContain(usage.History.Read(), e => e.State == "deleted");
    }

    [Theory]
    [InlineData("a next page elsewhere", "another address")]
    [InlineData("a cursor without a Link", "\"nextCursor\"")]
    [InlineData("hasMore without a Link", "\"hasMore\"")]
    [InlineData("a total above the items", "says there are 2 and listed 1")]
    [InlineData("a page linking to itself", "one it already gave")]
    [InlineData("another path on the same host", "another address")]
    [InlineData("another port", "another address")]
    [InlineData("plain http", "another address")]
    [InlineData("a protocol-relative link elsewhere", "another address")]
    [InlineData("a later page that fails", "its page 2 could not be read")]
    public async Task A_listing_that_may_have_left_endpoints_out_says_so_and_ends_nobodys_billing(string how, string said)
    {
        var (usage, handler, client, told) = await SeenBoth(r => how switch
        {
            "a next page elsewhere" => Page(Items("first"), "<https://elsewhere.example/v2/endpoint/alice?page=2>; rel=\"next\""),
            "a cursor without a Link" => Page(Items("first"), extra: ", \"nextCursor\": \"b2Zmc2V0PTE=\""),
            "hasMore without a Link" => Page(Items("first"), extra: ", \"hasMore\": true"),
            "a total above the items" => Page(Items("first"), extra: ", \"total\": 2"),
            "another path on the same host" => Page(Items("first"), "</v2/endpoint/bob?page=2>; rel=\"next\""),
            "another port" => Page(Items("first"), "<https://api.example:8443/v2/endpoint/alice?page=2>; rel=\"next\""),
            "plain http" => Page(Items("first"), "<http://api.example/v2/endpoint/alice?page=2>; rel=\"next\""),
            "a protocol-relative link elsewhere" => Page(Items("first"), "<//elsewhere.example/v2/endpoint/alice?page=2>; rel=\"next\""),
            "a later page that fails" => r.Query.Length == 0 ? Page(Items("first"), "</v2/endpoint/alice?page=2>; rel=\"next\"")
                : Respond.Make(404, Respond.Error("cursor expired")),
            _ => Page(Items("first"), "<https://api.example/v2/endpoint/alice>; rel=\"next\""),
        });

        var listed = await client.ListAsync(Ns);
        await usage.FlushAsync();

        Assert.Equal(["first"], listed.Select(e => e.Name));
        var requests = handler.Requests;                                  // nothing followed elsewhere: the token stays home
        Assert.Equal(how == "a later page that fails" ? 2 : 1, requests.Count);
        Assert.All(requests, r => Assert.Equal(("api.example", "/v2/endpoint/alice"), (r.Host, r.Path)));
        var warning = Assert.Single(told.Of("warning"));
        Assert.Contains("The listing of namespace 'alice' may be incomplete", warning);
        Assert.Contains(said, warning);
        Assert.Contains("not taken as deleted", warning);
        Assert.DoesNotContain(usage.History.Read(), e => e.State == "deleted");
    }

    [Fact]
    public async Task A_complete_listing_without_an_endpoint_still_ends_its_billing()
    {
        // The same history and time as above, with a listing that is whole: "second" is gone, and the history says so.
        var (usage, _, client, told) = await SeenBoth(_ => Page(Items("first"), extra: ", \"total\": 1, \"next\": null"));

        await client.ListAsync(Ns);
        await usage.FlushAsync();

        Assert.Empty(told.Of("warning"));
        Assert.Equal("second", Assert.Single(usage.History.Read(), e => e.State == "deleted").Name);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData(2, false)]
    [InlineData(1, true)]
    public async Task A_listing_of_several_pages_proves_a_deletion_only_when_its_total_says_it_is_whole(int? total, bool deleted)
    {
        // "second" was deleted; the listing has "first" on page 1 and nothing on page 2. Between the two requests another
        // deletion could have moved an endpoint from page 2 back to page 1, where nobody read it: only a total that
        // matches what the pages listed proves "second" gone. (A total above it is a listing that says it is partial.)
        string extra = total is int n ? $", \"total\": {n}" : "";
        var (usage, _, client, told) = await SeenBoth(r => r.Query.Length == 0
            ? Page(Items("first"), "</v2/endpoint/alice?page=2>; rel=\"next\"")
            : Page("", extra: extra));

        await client.ListAsync(Ns);
        await usage.FlushAsync();

        Assert.Equal(deleted, usage.History.Read().Any(e => e.State == "deleted" && e.Name == "second"));
        Assert.Equal(total == 2 ? 1 : 0, told.Of("warning").Count);
    }

    [Fact]
    public async Task A_listing_follows_at_most_100_pages()
    {
        var (usage, handler, client, told) = await SeenBoth(r =>
        {
            int page = r.Query.Length == 0 ? 1 : int.Parse(r.Query["?page=".Length..]);
            return Page(Items(page == 1 ? "first" : $"more-{page}"), $"</v2/endpoint/alice?page={page + 1}>; rel=\"next\"");
        });

        var listed = await client.ListAsync(Ns);
        await usage.FlushAsync();

        Assert.Equal(EndpointClient.MaxListPages, handler.Requests.Count);
        Assert.Equal(EndpointClient.MaxListPages, listed.Count);
        Assert.Contains($"more than {EndpointClient.MaxListPages} pages", Assert.Single(told.Of("warning")));
        Assert.DoesNotContain(usage.History.Read(), e => e.State == "deleted");
    }

    [Theory]
    [InlineData("<https://api.example/v2/endpoint/alice?page=2>; rel=\"next\"", "https://api.example/v2/endpoint/alice?page=2")]
    [InlineData("<https://a.example/p?x=1>; rel=\"prev\", </v2/endpoint/alice?page=3>; rel=next", "/v2/endpoint/alice?page=3")]
    [InlineData("</x>; rel=\"last next\"", "/x")]
    [InlineData("</x>; rel=\"prev\"", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void The_next_link_is_read_from_a_Link_header(string? header, string? next) => Assert.Equal(next, Json.NextLink(header));

    [Fact]
    public async Task Against_the_emulator_paging_its_listing_every_endpoint_is_listed()
    {
        await using var paged = await EmulatorProcess.StartAsync(["--list-page-size", "2", "--boot-seconds", "0.5"]);
        var client = new EndpointClient(EmulatorFixture.Token, new EndpointClientOptions
        {
            ApiBaseUri = new Uri(paged.BaseUri, "/v2"), HubBaseUri = paged.BaseUri, RetryAfterGate = new RetryAfterGate(),
        });
        string[] names = ["p1", "p2", "p3", "p4", "p5"];
        foreach (var name in names) await client.CreateAsync(EmulatorFixture.User, new EndpointCreateSpec { Name = name, ImageUrl = "someone/mert:latest" });
        var told = new Lines();

        var listed = await client.With(told).ListAsync(EmulatorFixture.User);

        Assert.Equal(names, listed.Select(e => e.Name));
        Assert.Empty(told.Of("warning"));
        using var admin = new HttpClient { BaseAddress = paged.BaseUri };
        using var log = JsonDocument.Parse(await admin.GetStringAsync("/_emulator/requests"));
        Assert.Equal(3, log.RootElement.GetProperty("requests").EnumerateArray()
            .Count(r => r.GetProperty("method").GetString() == "GET" && r.GetProperty("path").GetString() == "/v2/endpoint/emulator-user"));
    }
}
