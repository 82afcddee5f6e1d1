using System;
using System.Net.Http;

namespace MertEndpoint
{
    /// <summary>Where the client talks to and how patiently. Read once when an <see cref="EndpointClient"/> is built.</summary>
    public sealed class EndpointClientOptions
    {
        public static readonly Uri DefaultApiBaseUri = new("https://api.endpoints.huggingface.cloud/v2");
        public static readonly Uri DefaultHubBaseUri = new("https://huggingface.co");

        internal const string ApiUrlVariable = "MERT_ENDPOINT_API_URL";
        internal const string HubUrlVariable = "HF_ENDPOINT";

        public Uri ApiBaseUri { get; set; } = DefaultApiBaseUri;
        public Uri HubBaseUri { get; set; } = DefaultHubBaseUri;
        public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
        /// <summary>Where observed state changes are appended for cost reports; null keeps no history.</summary>
        public UsageHistory? History { get; set; }
        public int MaxRetryAttempts { get; set; } = 4;
        public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);
        public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);
        public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);
        /// <summary>For tests only; null uses the process-wide shared handler.</summary>
        public HttpMessageHandler? Handler { get; set; }

        /// <summary>Defaults overridden by MERT_ENDPOINT_API_URL and HF_ENDPOINT, both validated.</summary>
        public static EndpointClientOptions FromEnvironment()
        {
            var options = new EndpointClientOptions();
            string? api = Environment.GetEnvironmentVariable(ApiUrlVariable);
            if (!string.IsNullOrWhiteSpace(api)) options.ApiBaseUri = ParseBaseUri(api!, ApiUrlVariable);
            string? hub = Environment.GetEnvironmentVariable(HubUrlVariable);
            if (!string.IsNullOrWhiteSpace(hub)) options.HubBaseUri = ParseBaseUri(hub!, HubUrlVariable);
            return options;
        }

        /// <summary>Parses and validates a base URL: https, or plain http to a loopback host only.</summary>
        internal static Uri ParseBaseUri(string value, string settingName)
        {
            if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out Uri? uri))
                throw Invalid(settingName, $"'{value}' is not an absolute URL");
            ValidateBaseUri(uri, settingName);
            return uri;
        }

        internal static void ValidateBaseUri(Uri? uri, string settingName)
        {
            if (uri == null || !uri.IsAbsoluteUri)
                throw Invalid(settingName, "must be an absolute URL");
            if (uri.Scheme == Uri.UriSchemeHttps) return;
            if (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback) return;
            throw Invalid(settingName, uri.Scheme == Uri.UriSchemeHttp
                ? $"'{uri.GetLeftPart(UriPartial.Authority)}' uses plain http://, which is allowed only for loopback hosts (127.0.0.1, ::1, localhost); use https://"
                : $"'{uri.GetLeftPart(UriPartial.Authority)}' must use https://");
        }

        private static EndpointException Invalid(string settingName, string problem) =>
            new(EndpointErrorKind.InvalidConfiguration,
                $"Invalid {settingName}: {problem}. Fix or unset {settingName}.");
    }
}
