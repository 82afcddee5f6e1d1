using System.Globalization;
using System.Text.RegularExpressions;

namespace MertEndpoint.Tests;

/// <summary>
/// The usage history as typed objects (Get-MertEndpointHistory): records in, state changes and cold starts out. Each row
/// is one endpoint's records written as <c>state@t(lo-hi)src xN</c>: seconds after t0, the bounds when the record has
/// them, who wrote it (a = this module's action, d = its delete, r = a read, the default; v = a version 1 record, which
/// says nothing), for a record written with its facts how its writer dated it (/f where it was seen, /s by the service's
/// stamp, /m in the middle of its window), and the replicas (1 unless said, 0 for a state that runs nothing).
/// </summary>
public sealed class EndpointHistoryTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Never = DateTimeOffset.MinValue, Ever = DateTimeOffset.MaxValue;
    private const string Api = "https://api.example/v2";

    private static readonly Regex Record = new(@"^(\w+)@([\d.]+)(?:\(([\d.]+)-([\d.]+)\))?([adrv])?(?:/([fsm]))?(?:x(\d+))?$");

    private static List<UsageEvent> Records(string row, string name = "e", string ns = "alice", string api = Api) =>
        row.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(token =>
        {
            Match m = Record.Match(token);
            Assert.True(m.Success, $"not a record: {token}");
            string state = m.Groups[1].Value;
            DateTimeOffset At(Group g) => T0.AddSeconds(double.Parse(g.Value, CultureInfo.InvariantCulture));
            return new UsageEvent
            {
                Api = api, Namespace = ns, Name = name, State = state, Time = At(m.Groups[2]),
                Earliest = m.Groups[3].Success ? At(m.Groups[3]) : null, Latest = m.Groups[4].Success ? At(m.Groups[4]) : null,
                Source = m.Groups[5].Value switch { "a" => "action", "d" => "deleted", "v" => null, _ => "read" },
                SentAt = m.Groups[6].Success ? (m.Groups[4].Success ? At(m.Groups[4]) : At(m.Groups[2])) : null,
                DatedBy = m.Groups[6].Value switch { "s" => UsageEvent.ByStamp, "m" => UsageEvent.ByMidpoint, _ => null },
                Replicas = m.Groups[7].Success ? int.Parse(m.Groups[7].Value, CultureInfo.InvariantCulture)
                    : state is "paused" or "scaledToZero" or "failed" or "deleted" ? 0 : 1,
                InstanceType = "nvidia-a10g", InstanceSize = "x1",
            };
        }).ToList();

    private static string S(TimeSpan? span) => span is TimeSpan s ? s.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) : "-";
    private static string S(DateTimeOffset? at) => at is DateTimeOffset t ? S(t - T0) : "-";

    /// <summary>A change as the table below writes it: state@time(earliest-latest) source, and the state before it.</summary>
    private static string Show(EndpointStateChange c) =>
        $"{c.PreviousState ?? "-"}>{c.State}@{S(c.Time)}({S(c.Earliest)}-{S(c.Latest)}) {c.Source} x{c.Replicas}";

    /// <summary>A cold start: from>outcome started@ ended@ boot [low,high] source.</summary>
    private static string Show(ColdStart s) =>
        $"{s.PreviousState ?? "-"}>{s.Outcome ?? "-"} {S(s.Started)}..{S(s.Ended)} boot {S(s.BootTime)} [{S(s.BootTimeLow)},{S(s.BootTimeHigh)}] {s.Source}";

    [Theory]
    // Who wrote it, and how it was dated.
    [InlineData("paused@0(0-0)r", "->paused@0(0-0) sighting x0")]
    [InlineData("paused@0 initializing@10(9-10)a", "->paused@0(0-0) sighting x0|paused>initializing@10(9-10) action x1")]
    [InlineData("running@0 deleted@30(28-30)d", "->running@0(0-0) sighting x1|running>deleted@30(28-30) action x0")]
    [InlineData("paused@0 running@40(20-50)r", "->paused@0(0-0) sighting x0|paused>running@40(20-50) updatedAt x1")]
    [InlineData("paused@0 running@50(20-50)r", "->paused@0(0-0) sighting x0|paused>running@50(20-50) sighting x1")]
    [InlineData("running@0x1 running@30(10-50)x2", "->running@0(0-0) sighting x1|running>running@30(10-50) estimate x2")]
    [InlineData("running@0v paused@60v", "->running@0(0-0) unknown x1|running>paused@60(60-60) unknown x0")]
    // Written with its facts, the record says how it was dated; one dated where it was seen is placed in the middle of its
    // window, as the cost report's estimate places it (never the endpoint's first record, whose window reaches its creation).
    [InlineData("paused@0(0-0)r/f running@40(20-50)r/s", "->paused@0(0-0) sighting x0|paused>running@40(20-50) updatedAt x1")]
    [InlineData("running@0r/f running@30(10-50)r/mx2", "->running@0(0-0) sighting x1|running>running@30(10-50) estimate x2")]
    [InlineData("running@0r/f scaledToZero@50(20-50)r/f", "->running@0(0-0) sighting x1|running>scaledToZero@35(20-50) estimate x0")]
    // The same records from an older file (no facts): dated where seen, as written.
    [InlineData("running@0 scaledToZero@50(20-50)", "->running@0(0-0) sighting x1|running>scaledToZero@50(20-50) sighting x0")]
    // Bounds on the wrong side of the time are the time itself (as the cost report reads them).
    [InlineData("running@10(12-8)r", "->running@10(10-10) sighting x1")]
    // A record that repeats the state and replicas before it adds nothing; another replica count is a change.
    [InlineData("running@0 running@5 running@9x2 paused@20a", "->running@0(0-0) sighting x1|running>running@9(9-9) sighting x2|running>paused@20(20-20) action x0")]
    // Out of order in the input: in time order out.
    [InlineData("paused@20a running@0", "->running@0(0-0) sighting x1|running>paused@20(20-20) action x0")]
    public void Records_become_changes_with_their_bounds_and_how_they_are_known(string row, string expected)
    {
        var changes = EndpointHistory.Changes(Records(row), Never, Ever);
        Assert.Equal(expected, string.Join("|", changes.Select(Show)));
    }

    [Theory]
    // A resume by this module, seen running later: the boot from the resume's answer to the first sighting of running.
    [InlineData("paused@0 initializing@10(9-10)a running@45(40-45)", "paused>running 10..45 boot 35 [30,36] action")]
    // A create seen by this module (no record before): previous state none.
    [InlineData("pending@0(0-1)a initializing@5(3-5) running@62(60-62)", "->running 0..62 boot 62 [59,62] action")]
    // Recreated after a delete: a create too.
    [InlineData("running@0 deleted@10a initializing@20(19-20)a running@50(48-50)", "->running 20..50 boot 30 [28,31] action")]
    // Scaled to zero, woken by a request (seen, dated by updatedAt), twice.
    [InlineData("running@0 scaledToZero@100a initializing@200(150-210) running@230(220-240) scaledToZero@400a initializing@500(480-500) running@520(510-520)",
        "scaledToZero>running 200..230 boot 30 [10,90] updatedAt|scaledToZero>running 500..520 boot 20 [10,40] sighting")]
    // From failed: the service booting it again.
    [InlineData("failed@0 initializing@10(5-10) running@20(15-20)", "failed>running 10..20 boot 10 [5,15] sighting")]
    // A boot that ended otherwise: failed, or paused before it came up (a cancelled start).
    [InlineData("paused@0 initializing@10(9-10)a failed@70(60-70)", "paused>failed 10..70 boot 60 [50,61] action")]
    [InlineData("paused@0 initializing@10(9-10)a paused@20(19-20)a", "paused>paused 10..20 boot 10 [9,11] action")]
    // Still booting as far as the history knows.
    [InlineData("paused@0 initializing@10(9-10)a", "paused>- 10..- boot - [-,-] action")]
    // Replica counts and an update during the boot do not end it.
    [InlineData("paused@0 initializing@10(9-10)ax0 initializing@20x1 updating@30 running@40(35-40)", "paused>running 10..40 boot 30 [25,31] action")]
    // Seen by reads alone, written with their facts: each change in the middle of its window, so the boot is the estimate's.
    [InlineData("paused@0r/f initializing@30(10-30)r/f running@90(60-90)r/f", "paused>running 20..75 boot 55 [30,80] estimate")]
    // Straight from paused to running: it booted unseen, somewhere in the window; the boot is not timed.
    [InlineData("paused@0 running@60(30-60)", "paused>running -..60 boot - [0,30] sighting")]
    // No cold start: running from its first record (booted before the history), an update, a pause.
    [InlineData("running@0 updating@10 running@40 paused@50a", "")]
    [InlineData("initializing@0(0-0)v", "->- 0..- boot - [-,-] unknown")]
    public void Changes_become_cold_starts_with_boot_time_bounds(string row, string expected)
    {
        var starts = EndpointHistory.ColdStarts(Records(row), Never, Ever);
        Assert.Equal(expected, string.Join("|", starts.Select(Show)));
        foreach (ColdStart s in starts.Where(s => s.BootTime != null))
            Assert.InRange(s.BootTime!.Value, s.BootTimeLow!.Value, s.BootTimeHigh!.Value);
    }

    [Theory]
    // The period picks changes by their time, and cold starts by their start (a start before it keeps its context).
    [InlineData(0, 200, 5, 2)]
    [InlineData(0, 100, 4, 1)]
    [InlineData(15, 100, 2, 0)]    // the resume at 10 is out (and its cold start with it); the running at 45 and the pause at 90 are in
    [InlineData(9, 44, 1, 1)]
    [InlineData(46, 95, 1, 0)]
    [InlineData(100, 200, 1, 1)]   // the second resume at 120; its running is never seen
    public void The_period_selects_changes_by_time_and_cold_starts_by_their_start(int since, int until, int changes, int coldStarts)
    {
        var records = Records("paused@0 initializing@10(9-10)a running@45(40-45) paused@90a initializing@120a");
        Assert.Equal(changes, EndpointHistory.Changes(records, T0.AddSeconds(since), T0.AddSeconds(until)).Count);
        Assert.Equal(coldStarts, EndpointHistory.ColdStarts(records, T0.AddSeconds(since), T0.AddSeconds(until)).Count);
    }

    [Fact]
    public void Endpoints_come_by_namespace_and_name_and_each_is_read_apart()
    {
        var records = Records("paused@0 initializing@30a running@60", name: "b")
            .Concat(Records("paused@10 initializing@20a running@40", name: "a"))
            .Concat(Records("running@5", name: "a", ns: "lab"))
            // The same name behind another control plane is another endpoint: its records never join these.
            .Concat(Records("initializing@25a", name: "a", api: "http://127.0.0.1:5000/v2"))
            .ToList();

        var changes = EndpointHistory.Changes(records, Never, Ever);
        Assert.Equal(new[] { "alice/a", "alice/a", "alice/a", "alice/a", "alice/b", "alice/b", "alice/b", "lab/a" }, changes.Select(c => c.Endpoint));
        Assert.Equal(new[] { 10, 20, 40, 25 }, changes.Take(4).Select(c => (int)(c.Time - T0).TotalSeconds));
        var starts = EndpointHistory.ColdStarts(records, Never, Ever);
        Assert.Equal(new[] { "alice/a 20..40", "alice/a 25..-", "alice/b 30..60" }, starts.Select(s => $"{s.Endpoint} {S(s.Started)}..{S(s.Ended)}"));
    }
}
