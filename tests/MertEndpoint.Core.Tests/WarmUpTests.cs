namespace MertEndpoint.Tests;

[Collection(nameof(EnvironmentCollection))] // alone: other tests make temporary files while it looks
public sealed class WarmUpTests
{
    [Fact]
    public void The_import_warm_up_runs_a_whole_first_call_offline_and_writes_nothing()
    {
        // ModuleInit swallows a warm-up failure (it is only a head start), so a canned answer the parser no longer
        // accepts would silently leave the first call cold: this test is where such a break shows.
        string temp = Path.GetTempPath();
        var before = Directory.GetFileSystemEntries(temp).ToHashSet();
        EndpointClient.WarmUp();
        EndpointClient.WarmUp(); // any number of times
        // .ci/run runs the Pester suites beside this one: Faults writes its child scripts (mert-child-*.ps1) here meanwhile.
        var after = Directory.GetFileSystemEntries(temp).Where(p => !before.Contains(p) && p.Contains("mert", StringComparison.OrdinalIgnoreCase)
            && !Path.GetFileName(p).StartsWith("mert-child-", StringComparison.Ordinal));
        Assert.Empty(after);
    }
}
