namespace MertEndpoint.Tests;

public class ValidationTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("mert-spike6-inference")]
    [InlineData("0abc-9")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345")] // 32
    public void Valid_names(string name) => EndpointClient.ValidateName(name);

    [Theory]
    [InlineData("")]
    [InlineData("Mert")]
    [InlineData("mert_v1")]
    [InlineData("-mert")]
    [InlineData("mert-")]
    [InlineData("mert endpoint")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")] // 33
    [InlineData("mért")]
    public void Invalid_names(string name)
    {
        var ex = Assert.Throws<EndpointException>(() => EndpointClient.ValidateName(name));
        Assert.Equal(EndpointErrorKind.InvalidEndpointName, ex.Kind);
        Assert.Contains("lowercase letters, digits and '-'", ex.Message);
    }

    [Theory]
    [InlineData("https://api.endpoints.huggingface.cloud/v2")]
    [InlineData("http://127.0.0.1:5080/v2")]
    [InlineData("http://127.1.2.3/v2")]
    [InlineData("http://localhost:5080/v2")]
    [InlineData("http://[::1]:5080/v2")]
    public void Accepted_base_urls(string url) =>
        _ = new EndpointClient("t", new EndpointClientOptions { ApiBaseUri = new Uri(url) });

    [Theory]
    [InlineData("http://api.example.com/v2")]
    [InlineData("http://localhost.example.com/v2")]
    [InlineData("http://10.0.0.1/v2")]
    [InlineData("ftp://127.0.0.1/v2")]
    public void Rejected_base_urls(string url)
    {
        var ex = Assert.Throws<EndpointException>(() => new EndpointClient("t", new EndpointClientOptions { HubBaseUri = new Uri(url) }));
        Assert.Equal(EndpointErrorKind.InvalidConfiguration, ex.Kind);
        Assert.Contains("HubBaseUri", ex.Message);
        Assert.Contains("https://", ex.Message);
    }

    [Fact]
    public void Empty_token_is_refused()
    {
        var ex = Assert.Throws<EndpointException>(() => new EndpointClient(" ", new EndpointClientOptions()));
        Assert.Equal(EndpointErrorKind.TokenNotFound, ex.Kind);
    }
}
