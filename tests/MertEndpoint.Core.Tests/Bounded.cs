namespace MertEndpoint.Tests;

/// <summary>Waits in tests that end by failing, never by hanging the run.</summary>
public static class Bounded
{
    /// <summary>Generous: only a test that is failing anyway waits it out.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    /// <summary>Waits (wall clock) until <paramref name="condition"/> holds; fails naming <paramref name="what"/> after <see cref="Limit"/>.</summary>
    public static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"Still waiting for {what} after {Limit.TotalSeconds} s.");
            await Task.Delay(1);
        }
    }
}
