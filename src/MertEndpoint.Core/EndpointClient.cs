using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Polly;

namespace MertEndpoint
{
    /// <summary>
    /// Client for the Inference Endpoints control plane and the endpoints' data plane. Thread-safe and cheap
    /// to create: all instances share one HttpClient (one connection pool per process) unless
    /// <see cref="EndpointClientOptions.Handler"/> is set.
    /// </summary>
    public sealed partial class EndpointClient
    {
        internal const string NamespaceVariable = "MERT_ENDPOINT_NAMESPACE";
        private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);
        private static readonly Regex NamePattern = new("^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$", RegexOptions.CultureInvariant);
        private static readonly string UserAgent = "MertEndpoint/" + typeof(EndpointClient).Assembly.GetName().Version?.ToString(3);

        // Infinite: each attempt gets its own timeout from the pipeline, and long waits are ours to bound.
        private static readonly Lazy<HttpClient> SharedHttp = new(() => new HttpClient(CreateHandler()) { Timeout = Timeout.InfiniteTimeSpan });

        // whoami is strictly rate limited: one lookup per token and Hub per process. Keyed by a hash so the
        // token itself is not kept in a static.
        private static readonly ConcurrentDictionary<string, Lazy<Task<WhoAmI>>> WhoAmICache = new();

        private readonly string _token;
        private readonly HttpClient _http;
        private readonly string _apiBase, _hubBase;
        private readonly ResiliencePipeline<HttpResponseMessage> _retrying, _once;

        /// <param name="token">Hugging Face token (see <see cref="TokenResolver"/>).</param>
        /// <param name="options">Null reads <see cref="EndpointClientOptions.FromEnvironment"/>. Read once here.</param>
        public EndpointClient(string token, EndpointClientOptions? options = null)
        {
            if (string.IsNullOrWhiteSpace(token))
                throw new EndpointException(EndpointErrorKind.TokenNotFound, "The token is empty. Pass -Token or set HF_TOKEN.");
            Options = options ?? EndpointClientOptions.FromEnvironment();
            Options.TimeProvider ??= TimeProvider.System;
            EndpointClientOptions.ValidateBaseUri(Options.ApiBaseUri, nameof(Options.ApiBaseUri));
            EndpointClientOptions.ValidateBaseUri(Options.HubBaseUri, nameof(Options.HubBaseUri));
            _token = token.Trim();
            _http = Options.Handler == null ? SharedHttp.Value
                : new HttpClient(Options.Handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
            _apiBase = Options.ApiBaseUri.AbsoluteUri.TrimEnd('/');
            _hubBase = Options.HubBaseUri.AbsoluteUri.TrimEnd('/');
            _retrying = Resilience.Build(Options, retry: true);
            _once = Resilience.Build(Options, retry: false);
        }

        public EndpointClientOptions Options { get; }

        // ---- account and namespace ----

        /// <summary>The token's account. Cached process-wide per token; a failed lookup is not cached.</summary>
        public Task<WhoAmI> WhoAmIAsync(CancellationToken ct = default)
        {
            string key = Sha256(_token + "\n" + _hubBase);
            // Lazy: concurrent first callers share one lookup. It runs without the caller's token because other
            // callers may be awaiting it; each caller still stops waiting on its own cancellation.
            Task<WhoAmI> lookup = WhoAmICache.GetOrAdd(key, _ => new Lazy<Task<WhoAmI>>(() => FetchWhoAmIAsync(key))).Value;
            return WithCancellation(lookup, ct);
        }

        private async Task<WhoAmI> FetchWhoAmIAsync(string key)
        {
            try
            {
                return await SendAsync(HttpMethod.Get, new Uri(_hubBase + "/api/whoami-v2"), null,
                    new Target("look up the token's account (whoami-v2)", null), Json.ToWhoAmI, CancellationToken.None).ConfigureAwait(false);
            }
            catch
            {
                WhoAmICache.TryRemove(key, out _); // before anyone sees the failure, so a retry asks again
                throw;
            }
        }

        /// <summary>Explicit, else MERT_ENDPOINT_NAMESPACE, else the user name of a user token.</summary>
        public async Task<string> ResolveNamespaceAsync(string? ns, CancellationToken ct = default)
        {
            if (!string.IsNullOrWhiteSpace(ns)) return ns!.Trim();
            string? fromEnv = Environment.GetEnvironmentVariable(NamespaceVariable);
            if (!string.IsNullOrWhiteSpace(fromEnv)) return fromEnv!.Trim();
            WhoAmI me = await WhoAmIAsync(ct).ConfigureAwait(false);
            if (me.Type == "user" && me.Name.Length > 0) return me.Name;
            string orgs = me.Orgs.Count > 0 ? $" (its organizations: {string.Join(", ", me.Orgs)})" : "";
            throw new EndpointException(EndpointErrorKind.InvalidArgument,
                $"No namespace given, and the token belongs to {(me.Type.Length > 0 ? me.Type : "an account")} '{me.Name}', "
                + $"not a user, so it has no default namespace{orgs}. Pass -Namespace or set {NamespaceVariable}.");
        }

        // ---- control plane ----

        public Task<IReadOnlyList<EndpointInfo>> ListAsync(string ns, CancellationToken ct = default) =>
            SendAsync(HttpMethod.Get, Api(ns), null, new Target("list the endpoints of", RequireNs(ns)),
                e => ObserveAll(Json.ToEndpointList(e, ns)), ct);

        public Task<EndpointInfo> GetAsync(string ns, string name, CancellationToken ct = default) =>
            SendAsync(HttpMethod.Get, Api(ns, name), null, new Target("get", RequireNs(ns), RequireName(name)),
                e => Observe(Json.ToEndpoint(e, ns)), ct);

        /// <summary>Like <see cref="GetAsync"/>, but null when the endpoint does not exist.</summary>
        public async Task<EndpointInfo?> TryGetAsync(string ns, string name, CancellationToken ct = default)
        {
            try { return await GetAsync(ns, name, ct).ConfigureAwait(false); }
            catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.EndpointNotFound) { return null; }
        }

        /// <summary>
        /// Creates an endpoint, never twice: a POST is not blindly retried. After an attempt that may have
        /// reached the service (timeout, dropped connection, 5xx) a GET decides: the endpoint exists (return it)
        /// or not (post again); a 409 answering such a retry is the first attempt's success.
        /// </summary>
        public async Task<EndpointInfo> CreateAsync(string ns, EndpointCreateSpec spec, CancellationToken ct = default)
        {
            if (spec == null) throw new ArgumentNullException(nameof(spec));
            ValidateName(spec.Name);
            var target = new Target("create", RequireNs(ns), spec.Name);
            if (spec.MinReplica < 0 || spec.MaxReplica < 1 || spec.MinReplica > spec.MaxReplica)
                throw new EndpointException(EndpointErrorKind.InvalidArgument, Errors.Compose(target,
                    $"replicas must satisfy 0 <= MinReplica <= MaxReplica and MaxReplica >= 1 (got {spec.MinReplica}..{spec.MaxReplica})", null, null), target);
            Uri uri = Api(ns);
            string body = Json.CreateBody(spec);
            bool mayExist = false;
            for (int attempt = 1; ; attempt++)
            {
                if (mayExist && await TryGetAsync(ns, spec.Name, ct).ConfigureAwait(false) is EndpointInfo existing)
                    return existing;
                HttpResponseMessage response;
                try
                {
                    response = await _once.ExecuteAsync(t => SendOnceAsync(HttpMethod.Post, uri, body, t), ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (Resilience.IsTransient(ex) && !ct.IsCancellationRequested)
                {
                    if (attempt > Options.MaxRetryAttempts) throw Errors.Unreachable(target, uri, ex, attempt, Options.AttemptTimeout);
                    mayExist = true;
                    await Options.TimeProvider.Delay(Resilience.Delay(Options, attempt - 1, null, Now), ct).ConfigureAwait(false);
                    continue;
                }
                TimeSpan delay;
                using (response)
                {
                    if (response.IsSuccessStatusCode) return await ReadAsync(response, target, e => Observe(Json.ToEndpoint(e, ns))).ConfigureAwait(false);
                    if (response.StatusCode == HttpStatusCode.Conflict && mayExist) return await GetAsync(ns, spec.Name, ct).ConfigureAwait(false);
                    if (!Resilience.IsTransient(response.StatusCode) || attempt > Options.MaxRetryAttempts)
                        throw await ErrorAsync(response, target, attempt).ConfigureAwait(false);
                    mayExist |= response.StatusCode != (HttpStatusCode)429; // 429 is refused before any work; a 5xx may be after
                    delay = Resilience.Delay(Options, attempt - 1, response, Now);
                }
                await Options.TimeProvider.Delay(delay, ct).ConfigureAwait(false);
            }
        }

        /// <summary>
        /// Partial update: only non-null fields are sent. When any image field is given, model.image is sent
        /// whole, the missing parts taken from the current endpoint.
        /// </summary>
        public async Task<EndpointInfo> UpdateAsync(string ns, string name, EndpointUpdateSpec spec, CancellationToken ct = default)
        {
            if (spec == null) throw new ArgumentNullException(nameof(spec));
            var target = new Target("update", RequireNs(ns), RequireName(name));
            JsonObject? image = null;
            if (spec.HasImageChange)
            {
                string? url = spec.ImageUrl, health = spec.HealthRoute;
                int? port = spec.ImagePort;
                EndpointInfo current = await GetAsync(ns, name, ct).ConfigureAwait(false);
                if (current.ImageHasCredentials)
                    throw new EndpointException(EndpointErrorKind.InvalidArgument, Errors.Compose(target,
                        "its image has registry credentials, which the service never returns, so resending the image would drop them. Change the image in the Hugging Face UI", null, null), target);
                if (url == null || health == null || port == null)
                {
                    url ??= current.ImageKind == "custom" ? current.ImageUrl : null;
                    if (url == null)
                        throw new EndpointException(EndpointErrorKind.InvalidArgument, Errors.Compose(target,
                            $"its image is '{current.ImageKind}', not a custom container, so the port and health route cannot be changed alone. Pass -ImageUrl as well", null, null), target);
                    health ??= current.HealthRoute;
                    port ??= current.ImagePort ?? 80; // the service's default port for custom images
                }
                image = Json.CustomImage(url, health, port.Value);
            }
            string body = Json.UpdateBody(spec, image);
            if (body == "{}") return await GetAsync(ns, name, ct).ConfigureAwait(false); // nothing to change
            return await SendAsync(HttpMethod.Put, Api(ns, name), body, target, e => Observe(Json.ToEndpoint(e, ns)), ct).ConfigureAwait(false);
        }

        public async Task DeleteAsync(string ns, string name, CancellationToken ct = default)
        {
            await SendAsync(HttpMethod.Delete, Api(ns, name), null, new Target("delete", RequireNs(ns), RequireName(name)), _ => true, ct)
                .ConfigureAwait(false);
            Options.History?.ObserveDeleted(_apiBase, ns, name);
        }

        public Task<EndpointInfo> PauseAsync(string ns, string name, CancellationToken ct = default) =>
            ActionAsync(ns, name, "pause", "pause", ct);

        /// <summary>Resumes; an endpoint that is already running is returned as it is.</summary>
        public async Task<EndpointInfo> ResumeAsync(string ns, string name, CancellationToken ct = default)
        {
            try { return await ActionAsync(ns, name, "resume", "resume", ct).ConfigureAwait(false); }
            catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.InvalidRequest
                && ex.ServiceMessage?.IndexOf("already running", StringComparison.OrdinalIgnoreCase) >= 0)
            {
                return await GetAsync(ns, name, ct).ConfigureAwait(false);
            }
        }

        public Task<EndpointInfo> ScaleToZeroAsync(string ns, string name, CancellationToken ct = default) =>
            ActionAsync(ns, name, "scale-to-zero", "scale to zero", ct);

        public Task<IReadOnlyList<HardwareInfo>> GetHardwareAsync(string ns, CancellationToken ct = default) =>
            SendAsync(HttpMethod.Get, new Uri($"{_apiBase}/provider/{Seg(RequireNs(ns))}"), null,
                new Target("read the hardware catalog of", ns), Json.ToHardware, ct);

        /// <summary>Names: lowercase letters, digits and '-', 1 to 32 characters, no '-' at either end.</summary>
        public static void ValidateName(string name)
        {
            if (name != null && NamePattern.IsMatch(name)) return;
            throw new EndpointException(EndpointErrorKind.InvalidEndpointName,
                $"'{name}' is not a valid endpoint name. Use 1 to 32 lowercase letters, digits and '-', "
                + "starting and ending with a letter or digit (for example 'mert-embeddings').",
                new Target("", null, name));
        }

        // ---- data plane ----

        /// <summary>
        /// One GET of the endpoint's health route (5 s limit). Returns the HTTP status, or 0 when there is no
        /// URL or no answer. Cancellation by <paramref name="ct"/> is still thrown.
        /// </summary>
        public async Task<int> ProbeHealthAsync(EndpointInfo endpoint, CancellationToken ct = default)
        {
            if (endpoint?.Url is not string url) return 0;
            string route = endpoint.HealthRoute.StartsWith("/", StringComparison.Ordinal) ? endpoint.HealthRoute : "/" + endpoint.HealthRoute;
            if (!Uri.TryCreate(url.TrimEnd('/') + route, UriKind.Absolute, out Uri? uri)) return 0;
            using CancellationTokenSource timeout = Options.TimeProvider.CreateCancellationTokenSource(ProbeTimeout);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            // The token goes only over TLS or to this machine.
            if (uri.Scheme == Uri.UriSchemeHttps || uri.IsLoopback)
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            try
            {
                using HttpResponseMessage response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
                return (int)response.StatusCode;
            }
            catch (Exception ex) when (!ct.IsCancellationRequested && (ex is OperationCanceledException || Resilience.IsTransient(ex)))
            {
                return 0;
            }
        }

        // ---- plumbing ----

        private DateTimeOffset Now => Options.TimeProvider.GetUtcNow();

        // Every endpoint the control plane reports goes to the usage history (when one is configured).
        private EndpointInfo Observe(EndpointInfo endpoint)
        {
            Options.History?.Observe(_apiBase, endpoint);
            return endpoint;
        }

        private IReadOnlyList<EndpointInfo> ObserveAll(IReadOnlyList<EndpointInfo> endpoints)
        {
            foreach (var endpoint in endpoints) Observe(endpoint);
            return endpoints;
        }

        private Task<EndpointInfo> ActionAsync(string ns, string name, string route, string verb, CancellationToken ct) =>
            SendAsync(HttpMethod.Post, new Uri(Api(ns, name).AbsoluteUri + "/" + route), null,
                new Target(verb, RequireNs(ns), RequireName(name)), e => Observe(Json.ToEndpoint(e, ns)), ct);

        /// <summary>A retried call: transient failures are retried, then mapped to <see cref="EndpointException"/>.</summary>
        private async Task<T> SendAsync<T>(HttpMethod method, Uri uri, string? body, Target target, Func<JsonElement, T> map, CancellationToken ct)
        {
            int attempts = 0;
            HttpResponseMessage response;
            try
            {
                response = await _retrying.ExecuteAsync(t => { attempts++; return SendOnceAsync(method, uri, body, t); }, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (Resilience.IsTransient(ex) && !ct.IsCancellationRequested)
            {
                throw Errors.Unreachable(target, uri, ex, attempts, Options.AttemptTimeout);
            }
            using (response)
            {
                if (!response.IsSuccessStatusCode) throw await ErrorAsync(response, target, attempts).ConfigureAwait(false);
                return await ReadAsync(response, target, map).ConfigureAwait(false);
            }
        }

        /// <summary>One attempt, on a fresh request (a sent HttpRequestMessage cannot be sent again).</summary>
        private async ValueTask<HttpResponseMessage> SendOnceAsync(HttpMethod method, Uri uri, string? body, CancellationToken ct)
        {
            using var request = new HttpRequestMessage(method, uri);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            request.Headers.UserAgent.ParseAdd(UserAgent);
            if (body != null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
                request.Headers.ExpectContinue = false; // .NET Framework would otherwise wait for a 100 Continue first
            }
            return await _http.SendAsync(request, ct).ConfigureAwait(false);
        }

        private static async Task<T> ReadAsync<T>(HttpResponseMessage response, Target target, Func<JsonElement, T> map)
        {
            string text = response.Content == null ? "" : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            try
            {
                using JsonDocument doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(text) ? "{}" : text);
                return map(doc.RootElement);
            }
            catch (JsonException ex)
            {
                throw Errors.UnexpectedBody(target, (int)response.StatusCode, Header(response, "X-Request-Id"), ex);
            }
        }

        private async Task<EndpointException> ErrorAsync(HttpResponseMessage response, Target target, int attempts)
        {
            string text = response.Content == null ? "" : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            string? message = Json.ErrorMessage(text) ?? Header(response, "X-Error-Message");
            // Belt and braces: should the service ever echo the token, it still must not reach the user's screen.
            if (message != null) message = message.Replace(_token, "***");
            return Errors.FromStatus(target, (int)response.StatusCode, message, Header(response, "X-Request-Id"), attempts);
        }

        private static string? Header(HttpResponseMessage response, string name) =>
            response.Headers.TryGetValues(name, out IEnumerable<string>? values) ? string.Join(", ", values) : null;

        private Uri Api(string ns) => new($"{_apiBase}/endpoint/{Seg(RequireNs(ns))}");
        private Uri Api(string ns, string name) => new($"{_apiBase}/endpoint/{Seg(RequireNs(ns))}/{Seg(RequireName(name))}");
        private static string Seg(string s) => Uri.EscapeDataString(s);

        private static string RequireNs(string ns) => Require(ns, "Namespace");
        private static string RequireName(string name) => Require(name, "Name");

        private static string Require(string value, string parameter) =>
            !string.IsNullOrWhiteSpace(value) ? value
            : throw new EndpointException(EndpointErrorKind.InvalidArgument, $"The {parameter} is empty. Pass -{parameter}.");

        private static HttpClientHandler CreateHandler()
        {
            var handler = new HttpClientHandler { AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate };
            // .NET Framework (Windows PowerShell) allows 2 connections per host by default; .NET Core has no limit.
            try { if (handler.MaxConnectionsPerServer < 16) handler.MaxConnectionsPerServer = 16; }
            catch (PlatformNotSupportedException) { /* keep the platform's default */ }
            return handler;
        }

        private static string Sha256(string text)
        {
            using var sha = SHA256.Create();
            return BitConverter.ToString(sha.ComputeHash(Encoding.UTF8.GetBytes(text))).Replace("-", "");
        }

        private static async Task<T> WithCancellation<T>(Task<T> task, CancellationToken ct)
        {
            if (!ct.CanBeCanceled || task.IsCompleted) return await task.ConfigureAwait(false);
            var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (ct.Register(() => cancelled.TrySetResult(true)))
            {
                if (await Task.WhenAny(task, cancelled.Task).ConfigureAwait(false) != task)
                    ct.ThrowIfCancellationRequested();
            }
            return await task.ConfigureAwait(false);
        }
    }
}
