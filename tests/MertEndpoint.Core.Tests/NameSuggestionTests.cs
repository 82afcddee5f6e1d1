namespace MertEndpoint.Core.Tests;

public class NameSuggestionTests
{
    private static readonly string[] Names = ["mert-spike6-inference", "mert-spike7-inference", "whisper-large", "abc", "abd", "xyz", "mert"];

    [Theory]
    [InlineData("mert-spike6-inferense", "mert-spike6-inference,mert-spike7-inference,mert")] // one typo, then shared prefixes
    [InlineData("MERT-SPIKE6-INFERENCE", "mert-spike7-inference,mert")]                  // case-insensitive; itself excluded
    [InlineData("whisper-larg", "whisper-large")]
    [InlineData("abx", "abc,abd")]                                                       // xyz is 3 edits away
    [InlineData("mert-spike", "mert-spike6-inference,mert-spike7-inference,mert")]       // at most three
    [InlineData("qqqqqqq", "")]                                                          // nothing close
    [InlineData("mert-", "mert,mert-spike6-inference,mert-spike7-inference")]           // a prefix of 4 or more
    public void Closest_names_within_distance_two_or_a_prefix_of_four(string name, string expected)
    {
        Assert.Equal(expected, string.Join(",", NameSuggestions.Closest(name, Names)));
    }

    [Theory]
    [InlineData("kitten", "sitting", 2, 3)]
    [InlineData("flaw", "lawn", 2, 2)]
    [InlineData("same", "same", 2, 0)]
    [InlineData("a", "abcdef", 2, 3)]
    public void Distance_stops_past_its_limit(string a, string b, int limit, int expected) =>
        Assert.Equal(expected, NameSuggestions.Distance(a, b, limit));
}
