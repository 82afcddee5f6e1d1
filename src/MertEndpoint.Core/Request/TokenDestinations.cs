using System;
using System.Collections.Generic;
using System.Linq;

namespace MertEndpoint
{
    /// <summary>
    /// The one rule for where the bearer token may go, for every request that could carry it: the control plane's host,
    /// the Hub's host (whoami), the service's data-plane domain (*.endpoints.huggingface.cloud), loopback (the emulator),
    /// and hosts the user names explicitly (<see cref="EndpointClientOptions.TokenHosts"/>, MERT_ENDPOINT_TOKEN_HOSTS).
    /// Never a host only read from somewhere (a status URL, a probe hint from the usage history): such a host gets the
    /// request without the token. Never in clear text off this machine, and never through a redirect (the client does
    /// not follow redirects: a 3xx is an answer, not a new destination).
    /// </summary>
    internal sealed class TokenDestinations
    {
        public const string DataPlaneDomain = ".endpoints.huggingface.cloud";
        private readonly HashSet<string> _hosts;

        public TokenDestinations(Uri apiBase, Uri hubBase, IEnumerable<string> named)
        {
            _hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { apiBase.Host, hubBase.Host };
            foreach (string host in named) if (!string.IsNullOrWhiteSpace(host)) _hosts.Add(host.Trim().TrimStart('.'));
        }

        /// <summary>Whether a request to <paramref name="uri"/> may carry the token.</summary>
        public bool Allows(Uri uri)
        {
            if (!uri.IsAbsoluteUri) return false;
            if (uri.IsLoopback) return uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp;
            if (uri.Scheme != Uri.UriSchemeHttps) return false;
            string host = uri.Host;
            return _hosts.Contains(host)
                || host.EndsWith(DataPlaneDomain, StringComparison.OrdinalIgnoreCase)
                || _hosts.Any(h => h.StartsWith("*.", StringComparison.Ordinal) && host.EndsWith(h.Substring(1), StringComparison.OrdinalIgnoreCase));
        }
    }
}
