using System.Net;
using System.Text;
using MertEndpoint.Recording;

namespace MertEndpoint.Tests;

public class RecordingRedactionTests
{
    /// <summary>A service that echoes the account back in every form: whoami, then bodies, headers and logs holding it encoded.</summary>
    private sealed class EchoingService(string token, string user, string org, string email) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            string path = request.RequestUri!.AbsolutePath;
            string b64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(token));
            string body = path.EndsWith("/whoami-v2")
                ? $$$"""{"type":"user","id":"64f0c0ffee","name":"{{{user}}}","fullname":"A B","email":"{{{email}}}","orgs":[{"name":"{{{org}}}","id":"65aa"}],"auth":{"accessToken":{"displayName":"laptop"} } }"""
                : $$$"""{"name":"mert","accountId":"acct-42","note":"free text {{{user}}}","tags":["{{{Uri.EscapeDataString(user + "/" + org)}}}", "{{{b64}}}"],"status":{"state":"running","url":"https://x.endpoints.huggingface.cloud","createdBy":{"id":"64f0c0ffee","name":"{{{user}}}"} } }""";
            if (path.EndsWith("/logs")) body = $"- 2026-01-01T00:00:00.000+00:00 token {token} of {email} from 203.0.113.7, basic {Convert.ToBase64String(Encoding.UTF8.GetBytes(user))}";
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, path.EndsWith("/logs") ? "text/plain" : "application/json") };
            response.Headers.TryAddWithoutValidation("X-Error-Message", $"not allowed for {user}");
            response.Headers.TryAddWithoutValidation("Set-Cookie", $"session={b64}");
            return Task.FromResult(response);
        }
    }

    [Fact]
    public async Task Secrets_in_answers_headers_urls_and_text_are_replaced_in_every_form()
    {
        string token = "hf_" + RecordingScan.Random(34, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
        string user = "u" + RecordingScan.Random(9, "abcdefghijklmnopqrstuvwxyz");
        string org = "o" + RecordingScan.Random(9, "abcdefghijklmnopqrstuvwxyz");
        string email = $"{user}@mail.example.org";
        var recorder = new RecordingHandler(new EchoingService(token, user, org, email));
        using var http = new HttpClient(recorder);
        using (var whoami = new HttpRequestMessage(HttpMethod.Get, "https://huggingface.co/api/whoami-v2"))
        {
            whoami.Headers.Authorization = new("Bearer", token);
            (await http.SendAsync(whoami)).Dispose();
        }
        foreach (var url in new[] { $"https://api.endpoints.huggingface.cloud/v2/endpoint/{org}/mert", $"https://api.endpoints.huggingface.cloud/v2/endpoint/{org}/mert/logs?tail=5&who={Uri.EscapeDataString(email)}" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent($$$"""{"name":"mert","env":{"OWNER":"{{{user}}}"}}""", Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new("Bearer", token);
            (await http.SendAsync(request)).Dispose();
        }

        var (har, replaced) = HarWriter.Write(recorder.Exchanges);

        foreach (var secret in new[] { token, user, org, email, "64f0c0ffee", "65aa", "acct-42", "laptop", "203.0.113.7" })
            foreach (var form in RecordingScan.Forms(secret))
                Assert.False(har.Contains(form, StringComparison.OrdinalIgnoreCase), $"'{form}' (a form of '{secret}') is in the recording:\n{har}");
        Assert.Contains("\"status\":{\"state\":\"running\",\"url\":\"https://x.endpoints.huggingface.cloud\"", har.Replace("\\\"", "\"")); // allowlisted fields kept
        Assert.Contains("\"note\":\"<redacted>\"", har.Replace("\\\"", "\""));
        Assert.Contains(replaced, r => r.Placeholder == "<org-1>");
        Assert.DoesNotContain(replaced, r => r.ToString().Contains(user, StringComparison.OrdinalIgnoreCase)); // what it shows names no secret
    }
}

internal static class RecordingScan
{
    public static string Random(int length, string alphabet) =>
        new(Enumerable.Range(0, length).Select(_ => alphabet[System.Security.Cryptography.RandomNumberGenerator.GetInt32(alphabet.Length)]).ToArray());

    /// <summary>A secret as it may appear: raw, URL-encoded, base64 (padded, unpadded, URL-safe).</summary>
    public static IEnumerable<string> Forms(string secret)
    {
        string b64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(secret));
        return new[] { secret, Uri.EscapeDataString(secret), WebUtility.UrlEncode(secret), b64, b64.TrimEnd('='), b64.TrimEnd('=').Replace('+', '-').Replace('/', '_') }.Distinct();
    }
}
