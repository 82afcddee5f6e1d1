namespace MertEndpoint.Tests;

[Collection(nameof(EnvironmentCollection))] // alone: other tests make temporary files while it looks
public sealed class WarmUpTests
{
    [Fact]
    public void The_import_warm_up_runs_a_whole_first_call_offline_and_writes_nothing()
    {
        // ModuleInit swallows a warm-up failure (it is only a head start), so a canned answer the parser no longer
        // accepts would silently leave the first call cold: this test is where such a break shows.
        // A temporary folder of its own (TMPDIR, read on each call): .ci/run runs the Pester suites beside this one, and
        // they write mert-* files into the shared one meanwhile.
        string temp = Directory.CreateTempSubdirectory("warm-up-").FullName;
        string? was = Environment.GetEnvironmentVariable("TMPDIR");
        Environment.SetEnvironmentVariable("TMPDIR", temp + Path.DirectorySeparatorChar);
        try
        {
            Assert.StartsWith(temp, Path.GetTempPath()); // the warm-up would look here
            EndpointClient.WarmUp();
            EndpointClient.WarmUp(); // any number of times
            Assert.Empty(Directory.GetFileSystemEntries(temp));
        }
        finally
        {
            Environment.SetEnvironmentVariable("TMPDIR", was);
            Directory.Delete(temp, recursive: true);
        }
    }
}
