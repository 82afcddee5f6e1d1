using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;

namespace MertEndpoint
{
    /// <summary>
    /// Where the client talks to and how patiently: input only. <see cref="EndpointClient"/> copies these values into
    /// its own immutable settings when it is built and never writes here, so one options object can build many clients.
    /// </summary>
    public sealed class EndpointClientOptions
    {
        public static readonly Uri DefaultApiBaseUri = new("https://api.endpoints.huggingface.cloud/v2");
        public static readonly Uri DefaultHubBaseUri = new("https://huggingface.co");

        internal const string ApiUrlVariable = "MERT_ENDPOINT_API_URL";
        internal const string HubUrlVariable = "HF_ENDPOINT";
        internal const string RetryBudgetVariable = "MERT_ENDPOINT_RETRY_BUDGET_SEC";
        internal const string CommandTimeoutVariable = "MERT_ENDPOINT_COMMAND_TIMEOUT_SEC";
        internal const string MaxDataAnswerVariable = "MERT_ENDPOINT_MAX_DATA_ANSWER_MB";
        internal const string TokenHostsVariable = "MERT_ENDPOINT_TOKEN_HOSTS";
        internal const string SweepAccountMaxAgeVariable = "MERT_ENDPOINT_SWEEP_ACCOUNT_MAX_AGE_SEC";

        public static readonly TimeSpan DefaultRetryBudget = TimeSpan.FromSeconds(45);
        public static readonly TimeSpan DefaultCommandTimeout = TimeSpan.FromMinutes(5);
        public static readonly TimeSpan DefaultSweepAccountMaxAge = TimeSpan.FromMinutes(15);
        public static readonly TimeSpan MaxSweepAccountMaxAge = TimeSpan.FromHours(1);
        public const long DefaultMaxAnswerBytes = 32L * 1024 * 1024;
        public const int DefaultMaxLogLineBytes = 64 * 1024;
        public const long DefaultMaxDataAnswerBytes = 1024L * 1024 * 1024;

        public Uri ApiBaseUri { get; set; } = DefaultApiBaseUri;
        /// <summary>The control plane as the usage history names it (<see cref="EndpointClient.ApiBase"/>): a client of these options reads and writes its records.</summary>
        internal string ApiBase => ApiBaseUri.AbsoluteUri.TrimEnd('/');
        public Uri HubBaseUri { get; set; } = DefaultHubBaseUri;
        /// <summary>Null means the system clock.</summary>
        public TimeProvider? TimeProvider { get; set; }
        /// <summary>Told about every endpoint state the control plane reports (the usage history); null tells no one.</summary>
        public IEndpointObserver? Observer { get; set; }
        /// <summary>Where token lookups (whoami) are cached; null gives the client a cache of its own.</summary>
        public AccountCache? Accounts { get; set; }
        public int MaxRetryAttempts { get; set; } = 4;
        public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);
        public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);
        /// <summary>One attempt of a control-plane call (the answer's headers, for a log stream).</summary>
        public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(20);
        /// <summary>
        /// The whole of one control-plane call, its attempts and waits included (MERT_ENDPOINT_RETRY_BUDGET_SEC, default 45 s).
        /// A Retry-After that does not fit what is left fails the call at once with RateLimited naming the time to try
        /// again: an unattended script raises it to ride out a rate limit (the Hub's windows last 5 minutes).
        /// </summary>
        public TimeSpan RetryBudget { get; set; } = DefaultRetryBudget;

        /// <summary>
        /// The whole of an ordinary command, all its calls included (MERT_ENDPOINT_COMMAND_TIMEOUT_SEC, default 5 min); commands
        /// that wait on purpose (Start, Use, Wait, Invoke, a followed log) have their own -Timeout or limits instead, and a
        /// command fed by a pipeline takes as long as its input (each call within its budget).
        /// </summary>
        public TimeSpan CommandTimeout { get; set; } = DefaultCommandTimeout;
        /// <summary>
        /// How old the account lookup behind a sweep of every namespace ('*', the guard) may be before it is asked again
        /// (MERT_ENDPOINT_SWEEP_ACCOUNT_MAX_AGE_SEC, 0 to 3600, default 15 min; the guard's -AccountCacheMaxAge sets it).
        /// </summary>
        public TimeSpan SweepAccountMaxAge { get; set; } = DefaultSweepAccountMaxAge;
        /// <summary>The largest control-plane answer read (32 MiB); a larger one is an error naming the cap.</summary>
        public long MaxAnswerBytes { get; set; } = DefaultMaxAnswerBytes;
        /// <summary>The longest log line read (64 KiB); a longer one is an error naming the cap.</summary>
        public int MaxLogLineBytes { get; set; } = DefaultMaxLogLineBytes;
        /// <summary>The largest data-plane answer read (MERT_ENDPOINT_MAX_DATA_ANSWER_MB, default 1 GiB); <see cref="DataPlaneOptions.MaxAnswerBytes"/> overrides it per call.</summary>
        public long MaxDataAnswerBytes { get; set; } = DefaultMaxDataAnswerBytes;
        /// <summary>
        /// Hosts besides the control plane's, the Hub's, *.endpoints.huggingface.cloud and loopback that may receive the
        /// token (a private endpoint's host; "*.example.com" for a domain). MERT_ENDPOINT_TOKEN_HOSTS, comma-separated.
        /// </summary>
        public IList<string> TokenHosts { get; set; } = new List<string>();
        /// <summary>The process-wide per-host Retry-After gate; null uses <see cref="MertEndpoint.RetryAfterGate.Process"/>.</summary>
        public RetryAfterGate? RetryAfterGate { get; set; }
        /// <summary>Tests only: the backoff's jitter factor (0.5 to 1); null draws it at random.</summary>
        internal Func<double>? Jitter { get; set; }
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
            if (PositiveNumber(RetryBudgetVariable) is double seconds) options.RetryBudget = TimeSpan.FromSeconds(seconds);
            if (PositiveNumber(CommandTimeoutVariable) is double limit) options.CommandTimeout = TimeSpan.FromSeconds(Math.Min(limit, 86400 * 7));
            if (PositiveNumber(MaxDataAnswerVariable) is double mb) options.MaxDataAnswerBytes = (long)(mb * 1024 * 1024);
            string? age = Environment.GetEnvironmentVariable(SweepAccountMaxAgeVariable);
            if (!string.IsNullOrWhiteSpace(age))
                options.SweepAccountMaxAge = double.TryParse(age!.Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double ageSeconds)
                    && ageSeconds >= 0 && ageSeconds <= MaxSweepAccountMaxAge.TotalSeconds
                    ? TimeSpan.FromSeconds(ageSeconds)
                    : throw Errors.InvalidSetting(SweepAccountMaxAgeVariable, $"'{age.Trim()}' is not a number of seconds from 0 to {MaxSweepAccountMaxAge.TotalSeconds:0}");
            string? hosts = Environment.GetEnvironmentVariable(TokenHostsVariable);
            if (!string.IsNullOrWhiteSpace(hosts))
                foreach (string host in hosts!.Split(new[] { ',', ';', ' ' }, StringSplitOptions.RemoveEmptyEntries)) options.TokenHosts.Add(host);
            return options;
        }

        private static double? PositiveNumber(string variable)
        {
            string? text = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrWhiteSpace(text)) return null;
            if (double.TryParse(text!.Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double value)
                && value > 0 && value < 1e9)
                return value;
            throw Errors.InvalidSetting(variable, $"'{text.Trim()}' is not a positive number");
        }

        /// <summary>Parses and validates a base URL: https, or plain http to a loopback host only.</summary>
        internal static Uri ParseBaseUri(string value, string settingName)
        {
            if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out Uri? uri))
                throw Errors.InvalidSetting(settingName, $"'{WithoutUserInfo(value.Trim())}' is not an absolute URL");
            ValidateBaseUri(uri, settingName);
            return uri;
        }

        /// <summary>
        /// A base URL names a service and nothing else: no user name or password (they would be written wherever the URL
        /// is, the usage history included), no query or fragment (every path built on it would be wrong). Messages name
        /// the URL without its user information.
        /// </summary>
        internal static void ValidateBaseUri(Uri? uri, string settingName)
        {
            if (uri == null || !uri.IsAbsoluteUri)
                throw Errors.InvalidSetting(settingName, "must be an absolute URL");
            string shown = uri.Scheme + "://" + uri.Authority;
            if (uri.UserInfo.Length > 0)
                throw Errors.InvalidSetting(settingName, $"'{shown}' carries a user name or password (user:password@host); remove it, the token is the only credential sent");
            if (uri.Query.Length > 0 || uri.Fragment.Length > 0)
                throw Errors.InvalidSetting(settingName, $"'{shown}{uri.AbsolutePath}' has a query (?...) or fragment (#...); give the base URL alone, such as https://api.endpoints.huggingface.cloud/v2");
            if (uri.Scheme == Uri.UriSchemeHttps) return;
            if (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback) return;
            throw Errors.InvalidSetting(settingName, uri.Scheme == Uri.UriSchemeHttp
                ? $"'{shown}' uses plain http://, which is allowed only for loopback hosts (127.0.0.1, ::1, localhost); use https://"
                : $"'{shown}' must use https://");
        }

        /// <summary>Text that failed to parse, with anything between "//" and an "@" masked.</summary>
        private static string WithoutUserInfo(string text)
        {
            int start = text.IndexOf("//", StringComparison.Ordinal);
            int at = text.LastIndexOf('@');
            return start >= 0 && at > start ? text.Substring(0, start + 2) + "***" + text.Substring(at) : text;
        }
    }

    /// <summary>The client's own copy of its options, fixed when it is built.</summary>
    internal sealed class ClientSettings
    {
        public ClientSettings(EndpointClientOptions o)
        {
            EndpointClientOptions.ValidateBaseUri(o.ApiBaseUri, nameof(o.ApiBaseUri));
            EndpointClientOptions.ValidateBaseUri(o.HubBaseUri, nameof(o.HubBaseUri));
            ApiBase = o.ApiBase;
            HubBase = o.HubBaseUri.AbsoluteUri.TrimEnd('/');
            Clock = o.TimeProvider ?? TimeProvider.System;
            Observer = o.Observer;
            Accounts = o.Accounts ?? new AccountCache();
            MaxRetryAttempts = Math.Max(0, o.MaxRetryAttempts);
            RetryBaseDelay = o.RetryBaseDelay;
            MaxRetryDelay = o.MaxRetryDelay;
            AttemptTimeout = o.AttemptTimeout;
            Handler = o.Handler;
            RetryBudget = o.RetryBudget;
            MaxAnswerBytes = o.MaxAnswerBytes > 0 ? o.MaxAnswerBytes : EndpointClientOptions.DefaultMaxAnswerBytes;
            MaxLogLineBytes = o.MaxLogLineBytes > 0 ? o.MaxLogLineBytes : EndpointClientOptions.DefaultMaxLogLineBytes;
            MaxDataAnswerBytes = o.MaxDataAnswerBytes > 0 ? o.MaxDataAnswerBytes : EndpointClientOptions.DefaultMaxDataAnswerBytes;
            Gate = o.RetryAfterGate ?? RetryAfterGate.Process;
            Jitter = o.Jitter;
            TokenDestinations = new TokenDestinations(o.ApiBaseUri, o.HubBaseUri, (o.TokenHosts ?? new List<string>()).ToArray());
            Policies = new RequestPolicies(this);
        }

        public TimeSpan RetryBudget { get; }
        public long MaxAnswerBytes { get; }
        public int MaxLogLineBytes { get; }
        public long MaxDataAnswerBytes { get; }
        public RetryAfterGate Gate { get; }
        public Func<double>? Jitter { get; }
        public TokenDestinations TokenDestinations { get; }
        public RequestPolicies Policies { get; }

        public string ApiBase { get; }
        public string HubBase { get; }
        public TimeProvider Clock { get; }
        public IEndpointObserver? Observer { get; }
        public AccountCache Accounts { get; }
        public int MaxRetryAttempts { get; }
        public TimeSpan RetryBaseDelay { get; }
        public TimeSpan MaxRetryDelay { get; }
        public TimeSpan AttemptTimeout { get; }
        public HttpMessageHandler? Handler { get; }
    }
}
