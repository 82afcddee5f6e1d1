using System.Reflection;
using System.Text;

namespace MertEndpoint.Tests;

/// <summary>
/// The history's two line readers: the plain one (the form this module writes, straight from the bytes) must give the
/// same record as System.Text.Json's reader for every line it takes, and must take every line the writer writes.
/// </summary>
public sealed class RecordReaderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 3, 46, 50, 605, TimeSpan.Zero);
    private const string Api = "https://api.example/v2";

    private static UsageEvent Read(string state = "running", string src = "read") => new()
    {
        Time = T0.AddTicks(189), Earliest = T0.AddMinutes(-7), Latest = T0.AddMinutes(8), Api = Api, Namespace = "ns", Name = "mert",
        State = state, Replicas = 1, Vendor = "aws", Region = "us-east-1", InstanceType = "nvidia-a10g", InstanceSize = "x1",
        Source = src, Url = "https://mert.endpoints.example/", SentAt = T0.AddMinutes(8).AddMilliseconds(-300), PreviousSeen = T0.AddMinutes(-7),
        DatedBy = UsageEvent.ByMidpoint,
    };

    public static TheoryData<string> Written()
    {
        var action = Read("initializing", "action");
        action.ServiceStamp = T0.AddSeconds(1);
        action.DatedBy = UsageEvent.ByStamp;
        action.SentAt = action.Earliest;
        var ahead = Read();
        ahead.ClockOffset = TimeSpan.FromSeconds(-600.125);
        var gone = Read("deleted", "gone");
        gone.Url = null; gone.Vendor = null; gone.Region = null; gone.InstanceType = null; gone.InstanceSize = null; gone.Earliest = null;
        gone.Latest = null; gone.SentAt = null; gone.PreviousSeen = null; gone.DatedBy = null; gone.Replicas = 0;
        var data = new TheoryData<string>();
        foreach (UsageEvent e in new[] { Read(), action, ahead, gone, Read("scaledToZero"), Read("paused", "owed") }) data.Add(UsageHistory.Format(e));
        return data;
    }

    [Theory]
    [MemberData(nameof(Written))]
    public void Every_line_the_writer_writes_is_read_plainly_and_as_the_JSON_reader_reads_it(string line)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(line);
        var plain = new RecordFields();
        Assert.True(UsageHistory.TryReadPlain(bytes, 0, bytes.Length, ref plain));
        AssertSame(line);
    }

    [Fact]
    public void A_replica_list_and_the_header_are_left_to_the_JSON_reader()
    {
        var list = Read("running", UsageEvent.ReplicaListSource);
        list.ReplicaStarts = new[] { T0, T0.AddSeconds(3) };
        list.StartsSpread = TimeSpan.FromSeconds(1.5);
        foreach (string line in new[] { UsageHistory.Format(list), "{\"v\":2,\"generation\":\"abc\",\"compactedBytes\":0}" })
        {
            byte[] bytes = Encoding.UTF8.GetBytes(line);
            var plain = new RecordFields();
            Assert.False(UsageHistory.TryReadPlain(bytes, 0, bytes.Length, ref plain));
        }
    }

    /// <summary>Records of every shape the writer meets: escapes, nulls, negative counts, offsets, replica lists.</summary>
    private static IEnumerable<UsageEvent> Varied(int count, int seed)
    {
        var rnd = new Random(seed);
        string[] states = { "running", "paused", "initializing", "scaledToZero", "deleted", "updating" };
        string[] sources = { "read", "action", "gone", "owed", UsageEvent.ReplicaListSource };
        for (int i = 0; i < count; i++)
        {
            var e = new UsageEvent
            {
                Time = T0.AddTicks(rnd.NextInt64(1, 1L << 40)), Api = i % 7 == 0 ? "https://a.example/v2?x=1&y=<2>" : Api, Namespace = "ns" + i % 3,
                Name = i % 11 == 0 ? "caf\u00e9-'q'+" : "mert-" + i % 5, State = states[i % states.Length], Replicas = rnd.Next(-2, 5),
                Source = sources[rnd.Next(sources.Length)],
            };
            if (rnd.Next(2) == 0) e.Earliest = e.Time.AddSeconds(-rnd.Next(1000));
            if (rnd.Next(2) == 0) e.Latest = e.Time.AddSeconds(rnd.Next(1000));
            if (rnd.Next(2) == 0) (e.Vendor, e.Region, e.InstanceType, e.InstanceSize) = ("aws", "us-east-1", "nvidia-a10g", "x1");
            if (rnd.Next(2) == 0) e.Url = "https://x.endpoints.example/" + i;
            if (rnd.Next(3) == 0) e.ServiceStamp = e.Time.AddMilliseconds(rnd.Next(5000));
            // An action's window starts when it was sent (a reader takes "lo" for it); a read's is its own fact.
            if (e.Source == "action") e.SentAt = e.Earliest;
            else if (rnd.Next(3) == 0) e.SentAt = e.Time.AddSeconds(-3);
            if (rnd.Next(3) == 0) e.PreviousSeen = e.Time.AddSeconds(-99);
            if (rnd.Next(3) == 0) e.DatedBy = rnd.Next(2) == 0 ? UsageEvent.ByStamp : UsageEvent.ByMidpoint;
            if (rnd.Next(3) == 0) e.ClockOffset = TimeSpan.FromMilliseconds(rnd.Next(-500000, 500000)); // written to the millisecond
            if (e.IsReplicaList)
            {
                e.ReplicaStarts = rnd.Next(2) == 0 ? Array.Empty<DateTimeOffset>() : new[] { e.Time, e.Time.AddSeconds(1.2345) };
                e.StartsSpread = TimeSpan.FromMilliseconds(rnd.Next(3000)); // to the 1/10,000 s
            }
            yield return e;
        }
    }

    [Fact]
    public void Every_record_the_writer_writes_reads_back_as_it_was()
    {
        int plain = 0;
        foreach (UsageEvent e in Varied(400, 7))
        {
            byte[] line = Encoding.UTF8.GetBytes(UsageHistory.Format(e));
            var fields = new RecordFields();
            if (UsageHistory.TryReadPlain(line, 0, line.Length, ref fields)) plain++;
            AssertSame(Encoding.UTF8.GetString(line)); // the two readers agree on it
            var json = new RecordFields();
            Assert.True(UsageHistory.TryReadJson(line, 0, line.Length, ref json, out bool header) && !header);
            Assert.True(json.TryBuild(out UsageEvent? back));
            Assert.Equal(Describe(e), Describe(back));
        }
        Assert.InRange(plain, 200, 399); // most lines take the plain path; escaped names and replica lists do not
    }

    private const string Head = "{\"t\":\"2026-12-07T03:46:50.6050189Z\",\"api\":\"a\",\"ns\":\"n\",\"name\":\"m\",\"state\":\"running\"";

    [Theory]
    // numbers, in and out of JSON's grammar, and of other types than the field's
    [InlineData(Head + ",\"replicas\":2}")]
    [InlineData(Head + ",\"replicas\":-0}")]
    [InlineData(Head + ",\"replicas\":1.0}")]
    [InlineData(Head + ",\"replicas\":1e2}")]
    [InlineData(Head + ",\"replicas\":01}")]
    [InlineData(Head + ",\"replicas\":-}")]
    [InlineData(Head + ",\"replicas\":1.}")]
    [InlineData(Head + ",\"replicas\":.5}")]
    [InlineData(Head + ",\"replicas\":2147483648}")]
    [InlineData(Head + ",\"replicas\":true}")]
    [InlineData(Head + ",\"replicas\":\"3\"}")]
    [InlineData(Head + ",\"off\":-600.125}")]
    [InlineData(Head + ",\"off\":1E+3}")]
    [InlineData(Head + ",\"off\":1e400}")]
    [InlineData(Head + ",\"off\":1e}")]
    [InlineData(Head + ",\"spread\":-1}")]
    [InlineData(Head + ",\"spread\":86399.5}")]
    // times in the writer's form and in others, and of other types
    [InlineData(Head + ",\"lo\":null,\"hi\":false,\"u\":3}")]
    [InlineData(Head + ",\"u\":\"2026-12-07T03:46:50Z\"}")]
    [InlineData(Head + ",\"u\":\"2026-12-07T03:46:50.6050189+01:00\"}")]
    [InlineData(Head + ",\"u\":\"2026-13-07T03:46:50.6050189Z\"}")]
    [InlineData(Head + ",\"u\":\"not a time at all, 28 bytesZ\"}")]
    [InlineData("{\"t\":null,\"api\":\"a\",\"ns\":\"n\",\"name\":\"m\",\"state\":\"running\"}")]
    [InlineData("{\"t\":\"2026-12-07 03:46:50\",\"api\":\"a\",\"ns\":\"n\",\"name\":\"m\",\"state\":\"running\"}")]
    // strings: escapes, other bytes, other types, duplicates, unknown fields
    [InlineData(Head + ",\"url\":\"https://x/\\u0026y\"}")]
    [InlineData(Head + ",\"region\":\"caf\u00e9\"}")]
    [InlineData(Head + ",\"vendor\":null,\"type\":1,\"size\":[\"x1\"],\"src\":{}}")]
    [InlineData(Head + ",\"name\":\"second\"}")]
    [InlineData(Head + ",\"unknown\":\"x\",\"v\":2,\"starts\":\"x\"}")]
    [InlineData(Head + ",\"by\":\"mid\"}")]
    [InlineData(Head + ",\"by\":\"someone\"}")]
    [InlineData(Head + ",\"src\":\"action\",\"lo\":\"2026-12-07T03:40:00.0000000Z\"}")]
    // shapes that are not one plain object
    [InlineData(Head + "}")]
    [InlineData(Head + "}x")]
    [InlineData(Head + "}}")]
    [InlineData(Head + ",}")]
    [InlineData(Head + " }")]
    [InlineData(Head + "}\r")]
    [InlineData(Head + ",\"a\"}")]
    [InlineData(Head + ",\"a\":}")]
    [InlineData(Head + ",\"a\":nul}")]
    [InlineData(Head + ",\"a\":\"open}")]
    [InlineData("{}")]
    [InlineData("{")]
    [InlineData("[]")]
    [InlineData("{\"api\":\"a\",\"ns\":\"n\",\"name\":\"m\",\"state\":\"running\"}")]
    [InlineData("{\"generation\":\"g\"}")]
    public void The_plain_reader_takes_a_line_only_when_it_reads_it_as_the_JSON_reader_does(string line) => AssertSame(line);

    private static void AssertSame(string line)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(line);
        var plain = new RecordFields();
        bool plainTook = UsageHistory.TryReadPlain(bytes, 0, bytes.Length, ref plain);
        var json = new RecordFields();
        bool jsonTook = UsageHistory.TryReadJson(bytes, 0, bytes.Length, ref json, out bool header);
        if (!plainTook) return; // the JSON reader's alone
        Assert.True(jsonTook, "the plain reader took a line the JSON reader refuses: " + line);
        Assert.False(header);
        bool plainBuilt = plain.TryBuild(out UsageEvent? fromPlain), jsonBuilt = json.TryBuild(out UsageEvent? fromJson);
        Assert.Equal(jsonBuilt, plainBuilt);
        Assert.Equal(Describe(fromJson), Describe(fromPlain));
    }

    private static string Describe(UsageEvent? e) => e == null ? "(none)" : string.Join("\n",
        typeof(UsageEvent).GetProperties(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => p.Name + "=" + Show(p.GetValue(e))));

    private static string Show(object? value) => value switch
    {
        null => "null",
        DateTimeOffset t => t.UtcTicks + "/" + t.Offset,
        TimeSpan span => Math.Round(span.TotalMilliseconds, 3).ToString(System.Globalization.CultureInfo.InvariantCulture), // written rounded, read through a double
        IEnumerable<DateTimeOffset> list => string.Join(",", list.Select(t => t.UtcTicks)),
        _ => value.ToString() ?? "",
    };
}
