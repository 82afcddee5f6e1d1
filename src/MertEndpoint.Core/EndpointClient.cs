using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>
    /// Client for the Inference Endpoints control plane and the endpoints' data plane: one request (with its retries)
    /// per call, nothing else. Thread-safe and cheap to create; all instances share one connection pool per process
    /// unless <see cref="EndpointClientOptions.Handler"/> is set. Its only side effect is telling the configured
    /// <see cref="IEndpointObserver"/> what the control plane answered. Starting and waiting live in
    /// <see cref="EndpointLifecycle"/>; history and prices in <see cref="UsageService"/>.
    /// </summary>
    public sealed class EndpointClient
    {
        internal const string NamespaceVariable = "MERT_ENDPOINT_NAMESPACE";
        private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);
        private static readonly Regex NamePattern = new("^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$", RegexOptions.CultureInvariant);

        private readonly string _token;
        private readonly Transport _transport;
        private readonly ClientSettings _settings;
        // A view's explicit call settings (see For): who hears about waits, the caller's deadline, a policy in place of each call's own.
        private readonly Reporter _reporter = Reporter.None;
        private readonly long? _endsAt;
        private readonly RequestPolicy? _policy;

        /// <param name="token">Hugging Face token (see <see cref="TokenResolver"/>).</param>
        /// <param name="options">Null reads <see cref="EndpointClientOptions.FromEnvironment"/>. Copied here, never written.</param>
        public EndpointClient(string token, EndpointClientOptions? options = null)
        {
            if (string.IsNullOrWhiteSpace(token)) throw Errors.EmptyToken();
            _token = TokenResolver.Checked(token.Trim(), TokenSource.Caller);
            _settings = new ClientSettings(options ?? EndpointClientOptions.FromEnvironment());
            _transport = new Transport(_token, _settings);
            // Nearly every command's first request is a control-plane call (a read, a write, a create: one attempt timeout).
            _transport.Executor.Prebuild(_settings.Policies.ControlRead);
        }

        private EndpointClient(EndpointClient root, Reporter? reporter, long? endsAt, RequestPolicy? policy)
        {
            _token = root._token;
            _settings = root._settings;
            _transport = root._transport;
            _reporter = reporter ?? Reporter.None;
            _endsAt = endsAt;
            _policy = policy;
        }

        /// <summary>
        /// This client with its calls' request settings given explicitly, for one operation: who hears about each wait
        /// (a start's progress, an owed pause's lines), the operation's own deadline (a Retry-After past it fails at once),
        /// and a policy that replaces each call's own (the owed pause's). Nothing flows anywhere else: work the calls
        /// start on their own (the usage history's reads) uses the client it was given.
        /// </summary>
        internal EndpointClient For(Reporter? reporter, long? endsAt = null, RequestPolicy? policy = null) =>
            new(this, reporter, endsAt, policy);

        /// <summary>
        /// This client telling <paramref name="reporter"/> what its operations do: retry waits, a start's progress and
        /// decisions, an owed pause's attempts, what a command did (<see cref="MertEndpoint.Reporter"/>).
        /// </summary>
        public EndpointClient With(Reporter reporter) => new(this, reporter, _endsAt, _policy);

        /// <summary>Who hears about this view's operations (<see cref="Reporter.None"/> unless set with <see cref="With"/>).</summary>
        public Reporter Reporter => _reporter;

        private RequestCall Call(RequestPolicy policy) => new(_policy ?? policy, _reporter, _endsAt);
        private RequestPolicies Policies => _settings.Policies;

        /// <summary>The control-plane base URL this client talks to (no trailing slash).</summary>
        public string ApiBase => _settings.ApiBase;
        public TimeProvider TimeProvider => _settings.Clock;
        internal ClientSettings Settings => _settings;

        // ---- account and namespace ----

        /// <summary>The token's account, from the account cache (one lookup per token and Hub while it lasts).</summary>
        public Task<WhoAmI> WhoAmIAsync(CancellationToken ct = default)
        {
            // The lookup may be shared by other callers, so it runs without this caller's token; each caller still
            // stops waiting on its own cancellation.
            Task<WhoAmI> lookup = _settings.Accounts.GetAsync(_token, _settings.HubBase, _settings.Clock, AskWhoAmI);
            return WithCancellation(lookup, ct);
        }

        /// <summary>
        /// The token's account as of at most <paramref name="maxAge"/> ago: what a sweep of every namespace needs, so that
        /// an organization joined since is seen. When the Hub cannot answer (a 429, an outage), the older answer is used
        /// and the reporter warns how old it is.
        /// </summary>
        public Task<WhoAmI> WhoAmIAsync(TimeSpan maxAge, CancellationToken ct = default)
        {
            Task<WhoAmI> lookup = _settings.Accounts.GetFreshAsync(_token, _settings.HubBase, _settings.Clock, AskWhoAmI, maxAge,
                (age, ex) => _reporter.Warning(Errors.AccountLookupStale(age, ex)));
            return WithCancellation(lookup, ct);
        }

        private Task<WhoAmI> AskWhoAmI() =>
            _transport.SendAsync(HttpMethod.Get, new Uri(_settings.HubBase + "/api/whoami-v2"), null,
                new Target("look up the token's account (whoami-v2)", null), Json.ToWhoAmI, new RequestCall(Policies.ControlRead, _reporter), CancellationToken.None);

        /// <summary>Explicit, else MERT_ENDPOINT_NAMESPACE, else the user name of a user token.</summary>
        public async Task<string> ResolveNamespaceAsync(string? ns, CancellationToken ct = default)
        {
            if (!string.IsNullOrWhiteSpace(ns)) return Inputs.Segment(ns!.Trim(), "Namespace");
            string? fromEnv = Environment.GetEnvironmentVariable(NamespaceVariable);
            if (!string.IsNullOrWhiteSpace(fromEnv)) return Inputs.Segment(fromEnv!.Trim(), NamespaceVariable);
            WhoAmI me = await WhoAmIAsync(ct).ConfigureAwait(false);
            if (me.Type == "user" && me.Name.Length > 0) return me.Name;
            throw Errors.NoDefaultNamespace(me, NamespaceVariable);
        }

        // ---- control plane ----

        /// <summary>
        /// Every endpoint of <paramref name="ns"/>, following the answer's <c>Link rel="next"</c> pages (on the same address
        /// only, so the token goes nowhere else). A listing that may have left some out (its next page elsewhere, a cursor
        /// no Link leads to, a total above what it showed, more than <see cref="MaxListPages"/> pages) is said as a warning,
        /// and the usage history then takes no endpoint missing from it as deleted.
        /// </summary>
        public async Task<IReadOnlyList<EndpointInfo>> ListAsync(string ns, CancellationToken ct = default)
        {
            try
            {
                DateTimeOffset sent = _transport.Now;
                (IReadOnlyList<EndpointInfo> endpoints, string? partial, bool proven) = await ListPagesAsync(ns, ct).ConfigureAwait(false);
                Tell(ns, ObservationKind.Read, endpoints, sent, complete: partial == null && proven);
                if (partial != null) _reporter.Warning(Errors.ListingPartial(ns, endpoints.Count, partial));
                return endpoints;
            }
            catch (EndpointException ex) when (ex.StatusCode is 401 or 403 or 404)
            {
                throw await ExplainNamespaceAsync(ex, ns, ct).ConfigureAwait(false);
            }
        }

        /// <summary>The most pages one listing follows.</summary>
        internal const int MaxListPages = 100;

        /// <summary>
        /// The listing's pages, each endpoint once (a later page's copy wins); why it may be incomplete (null: it is not);
        /// and whether it proves that an endpoint missing from it is gone. One page does. Several do only when the body's
        /// total matches what they listed: an endpoint deleted between two pages moves the ones after it back a page, and
        /// one of them is then on no page read. A failure on a later page (the first's is the command's error) ends the
        /// listing there, as one that may be incomplete.
        /// </summary>
        private async Task<(IReadOnlyList<EndpointInfo> Endpoints, string? Partial, bool Proven)> ListPagesAsync(string ns, CancellationToken ct)
        {
            var target = new Target("list the endpoints of", RequireNs(ns));
            Uri first = Api(ns), uri = first;
            var endpoints = new List<EndpointInfo>();
            var at = new Dictionary<string, int>(StringComparer.Ordinal);
            var asked = new HashSet<string>(StringComparer.Ordinal) { first.AbsoluteUri };
            for (var pages = 1; ; pages++)
            {
                ListingPage page;
                try
                {
                    page = await _transport.SendAsync(HttpMethod.Get, uri, null, target,
                        (e, r) => Json.ToEndpointPage(e, ns, Transport.Header(r, "Link")), Call(Policies.ControlRead), ct).ConfigureAwait(false);
                }
                catch (EndpointException ex) when (pages > 1)
                {
                    return (endpoints, $"its page {pages} could not be read ({ex.Message.TrimEnd('.')})", false);
                }
                foreach (EndpointInfo e in page.Items)
                {
                    if (at.TryGetValue(e.Name, out int i)) endpoints[i] = e;
                    else
                    {
                        at[e.Name] = endpoints.Count;
                        endpoints.Add(e);
                    }
                }
                if (page.Next == null)
                {
                    string? partial = page.MoreField != null ? $"its answer has \"{page.MoreField}\" but no Link header to the next page"
                        : page.Total is int total && total > endpoints.Count ? $"it says there are {total} and listed {endpoints.Count}"
                        : null;
                    return (endpoints, partial, pages == 1 || page.Total == endpoints.Count);
                }
                if (!Uri.TryCreate(uri, page.Next, out Uri? next) || next.Scheme != first.Scheme || !next.Authority.Equals(first.Authority, StringComparison.OrdinalIgnoreCase)
                    || next.AbsolutePath != first.AbsolutePath)
                    return (endpoints, "its next page is at another address, which this module does not follow (the token goes to the listing's own address only)", false);
                if (!asked.Add(next.AbsoluteUri)) return (endpoints, "its next page is one it already gave", false);
                if (pages == MaxListPages) return (endpoints, $"it has more than {MaxListPages} pages", false);
                uri = next;
            }
        }

        /// <summary>
        /// A namespace refused with a token the Hub accepts is the namespace's problem, not the token's: say which
        /// namespaces the token has (whoami, cached). When whoami fails too, the token is the problem: the error stands.
        /// </summary>
        internal async Task<EndpointException> ExplainNamespaceAsync(EndpointException ex, string ns, CancellationToken ct)
        {
            try
            {
                return Errors.NamespaceNotUsable(ex, ns, await WhoAmIAsync(ct).ConfigureAwait(false));
            }
            catch (EndpointException)
            {
                return ex;
            }
        }

        public Task<EndpointInfo> GetAsync(string ns, string name, CancellationToken ct = default) => GetAsync(ns, name, tellGone: true, ct);

        /// <param name="tellGone">Tell the observer a 404 (the usage history then records the endpoint gone, dated by its
        /// sightings); false for a delete's confirming reads, whose delete is recorded as this client's own.</param>
        internal async Task<EndpointInfo> GetAsync(string ns, string name, bool tellGone, CancellationToken ct)
        {
            DateTimeOffset sent = _transport.Now;
            try
            {
                return (await ObservedAsync(ns, ObservationKind.Read, ct, t => One(_transport.SendAsync(HttpMethod.Get, Api(ns, name), null,
                    new Target("get", RequireNs(ns), RequireName(name)), e => Json.ToEndpoint(e, ns), Call(Policies.ControlRead), t))).ConfigureAwait(false))[0];
            }
            catch (EndpointException ex) when (ex.StatusCode is 401 or 403)
            {
                throw await ExplainNamespaceAsync(ex, ns, ct).ConfigureAwait(false);
            }
            catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.EndpointNotFound && tellGone)
            {
                // The service's word that it is gone (or not there yet: the history waits 10 s after its last record).
                _settings.Observer?.Observe(new EndpointObservation(_settings.ApiBase, ns, ObservationKind.Read, Array.Empty<EndpointInfo>(), name, sent, _transport.Now) { ClockAhead = _transport.ClockAhead });
                throw;
            }
        }

        /// <summary>How far this machine's clock runs ahead of the control plane's, from its last answer (see <see cref="Transport.ClockAhead"/>).</summary>
        internal TimeSpan? ClockAhead => _transport.ClockAhead;

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
                throw Errors.InvalidReplicas(target, spec.MinReplica, spec.MaxReplica);
            Uri uri = Api(ns);
            string body = Json.CreateBody(spec);
            bool mayExist = false;
            DateTimeOffset sent = _transport.Now;
            EndpointClient check = For(_reporter, _endsAt, Policies.CreateCheck);
            return await _transport.Executor.RunAsync(Call(Policies.Create), target, uri, async (attempt, t) =>
            {
                // After an attempt that may have landed, a GET decides: it exists (done) or not (post again).
                if (mayExist)
                {
                    Attempt<EndpointInfo?> found = await check.TryGetOnceAsync(ns, spec.Name, t).ConfigureAwait(false);
                    if (found.Failure is Failure lookup) return Attempt<EndpointInfo>.Failed(lookup);
                    if (found.Value is EndpointInfo existing) return Attempt<EndpointInfo>.Done(existing);
                }
                sent = _transport.Now;
                HttpResponseMessage response;
                try
                {
                    response = await _transport.SendOnceAsync(HttpMethod.Post, uri, body, t).ConfigureAwait(false);
                }
                catch (Exception) when (!ct.IsCancellationRequested)
                {
                    mayExist = true; // a dropped or abandoned POST may have reached the service
                    throw;
                }
                using (response)
                {
                    if (response.StatusCode == HttpStatusCode.Conflict && mayExist)
                        return Attempt<EndpointInfo>.Done(await check.GetAsync(ns, spec.Name, t).ConfigureAwait(false));
                    Attempt<EndpointInfo> outcome = await _transport.OutcomeAsync(response, target, e => Json.ToEndpoint(e, ns)).ConfigureAwait(false);
                    // A 2xx whose body is not this endpoint (`{}`, another shape) says nothing of what exists: read it back.
                    if (outcome.Failure == null && !string.Equals(outcome.Value.Name, spec.Name, StringComparison.Ordinal))
                        outcome = Attempt<EndpointInfo>.Done(await check.GetAsync(ns, spec.Name, t).ConfigureAwait(false));
                    if (outcome.Failure == null) Tell(ns, ObservationKind.Action, new[] { outcome.Value }, sent);
                    // 429 is refused before any work; a 5xx may come after it.
                    else if (outcome.Failure.Kind == FailureKind.Status && outcome.Failure.Status >= 500) mayExist = true;
                    return outcome;
                }
            }, (kind, ex, attempts) => Errors.Unreachable(target, uri, ex, attempts, _settings.AttemptTimeout), ct).ConfigureAwait(false);
        }

        /// <summary>One GET (this view's policy) for create's check: the endpoint, null when it does not exist, or a failure to try again.</summary>
        private async Task<Attempt<EndpointInfo?>> TryGetOnceAsync(string ns, string name, CancellationToken ct)
        {
            try
            {
                return Attempt<EndpointInfo?>.Done(await TryGetAsync(ns, name, ct).ConfigureAwait(false));
            }
            catch (EndpointException ex) when (ex.Kind is EndpointErrorKind.ServiceUnavailable or EndpointErrorKind.RateLimited)
            {
                return Attempt<EndpointInfo?>.Failed(new Failure(ex.StatusCode is int status ? FailureKind.Status : FailureKind.Dropped,
                    ex.StatusCode ?? 0, _ => ex, ex.RetryAfter));
            }
        }

        /// <summary>
        /// Partial update: only non-null fields are sent. When any image field is given, model.image is sent
        /// whole, the missing parts taken from the current endpoint. Nothing to change sends nothing but a GET.
        /// </summary>
        public Task<EndpointInfo> UpdateAsync(string ns, string name, EndpointUpdateSpec spec, CancellationToken ct = default) =>
            UpdateAsync(ns, name, spec, afterResume: false, ct);

        /// <param name="afterResume">The scaling a start puts back after its resume (its error then says to start again).</param>
        internal async Task<EndpointInfo> UpdateAsync(string ns, string name, EndpointUpdateSpec spec, bool afterResume, CancellationToken ct)
        {
            if (spec == null) throw new ArgumentNullException(nameof(spec));
            var target = new Target("update", RequireNs(ns), RequireName(name));
            JsonObject? image = null;
            if (spec.HasImageChange)
            {
                string? url = spec.ImageUrl, health = spec.HealthRoute;
                int? port = spec.ImagePort;
                EndpointInfo current = await GetAsync(ns, name, ct).ConfigureAwait(false);
                if (current.ImageHasCredentials) throw Errors.ImageHasCredentials(target);
                if (url == null || health == null || port == null)
                {
                    url ??= current.ImageKind == "custom" ? current.ImageUrl : null;
                    if (url == null) throw Errors.ImageNotCustom(target, current.ImageKind);
                    health ??= current.HealthRoute;
                    port ??= current.ImagePort ?? 80; // the service's default port for custom images
                }
                image = Json.CustomImage(url, health, port.Value);
            }
            string body = Json.UpdateBody(spec, image);
            if (body == "{}") return await GetAsync(ns, name, ct).ConfigureAwait(false);
            Func<CancellationToken, Task<EndpointInfo>> send = c => ChangeAsync(ns, name, c, t => _transport.SendAsync(HttpMethod.Put, Api(ns, name), body, target,
                e => Json.ToEndpoint(e, ns), Call(Policies.ControlWrite), t));
            EndpointInfo updated = await send(ct).ConfigureAwait(false);
            // The scaling decides what bills (and an idle timeout is what stops billing when the caller dies): an update is
            // done when a read shows the replicas and the idle timeout it sent, not because its answer was 2xx.
            return spec.ScalingHeldBy(updated) ? updated
                : await ReadinessWaiter.ConfirmUpdatedAsync(this, new EndpointId(ns, name), spec, send, afterResume, ct).ConfigureAwait(false);
        }

        /// <summary>
        /// Deletes the endpoint and returns once a read shows it gone (see <see cref="ReadinessWaiter.ConfirmDeletedAsync"/>):
        /// a 2xx alone is not taken for a delete, and only a confirmed delete is written to the usage history, as this
        /// client's own, dated from when it was sent.
        /// </summary>
        public Task DeleteAsync(string ns, string name, CancellationToken ct = default) => DeleteAsync(ns, name, confirm: true, ct);

        /// <param name="confirm">False: send the delete and return on its answer, telling no one (build.ps1 Record's session,
        /// which makes its own reads after it and records them).</param>
        public async Task DeleteAsync(string ns, string name, bool confirm, CancellationToken ct = default)
        {
            DateTimeOffset sent = _transport.Now;
            var target = new Target("delete", RequireNs(ns), RequireName(name));
            // A retried delete whose earlier attempt got no answer may have landed: its 404 then means deleted, not an error.
            var counted = new CountingReporter(_reporter);
            var call = new RequestCall(_policy ?? Policies.ControlWrite, counted, _endsAt);
            bool answered = true;
            try
            {
                await _transport.SendAsync(HttpMethod.Delete, Api(ns, name), null, target, _ => true, call, ct).ConfigureAwait(false);
            }
            catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.EndpointNotFound && counted.Waits > 0)
            {
                answered = false; // deleted by the attempt whose answer was lost: the 404 is the service's word that it is gone
            }
            if (!confirm) return;
            if (answered)
                await ReadinessWaiter.ConfirmDeletedAsync(this, new EndpointId(ns, name), t => _transport.SendAsync(HttpMethod.Delete, Api(ns, name), null,
                    target, _ => true, Call(Policies.ControlWrite), t), ct).ConfigureAwait(false);
            _settings.Observer?.Observe(new EndpointObservation(_settings.ApiBase, ns, ObservationKind.Deleted, Array.Empty<EndpointInfo>(),
                name, sent, _transport.Now));
        }

        public Task<EndpointInfo> PauseAsync(string ns, string name, CancellationToken ct = default) =>
            ActionAsync(ns, name, "pause", "pause", ct);

        /// <summary>Resumes; an endpoint that is already running is returned as it is.</summary>
        public async Task<EndpointInfo> ResumeAsync(string ns, string name, CancellationToken ct = default) =>
            (await ResumeOrReadAsync(ns, name, ct).ConfigureAwait(false)).Endpoint;

        /// <summary>Resumes, saying whether this call resumed it (false: the service answered "already running").</summary>
        internal async Task<(EndpointInfo Endpoint, bool Resumed)> ResumeOrReadAsync(string ns, string name, CancellationToken ct)
        {
            try { return (await ActionAsync(ns, name, "resume", "resume", ct).ConfigureAwait(false), true); }
            catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.InvalidRequest
                && ex.ServiceMessage?.IndexOf("already running", StringComparison.OrdinalIgnoreCase) >= 0)
            {
                return (await GetAsync(ns, name, ct).ConfigureAwait(false), false);
            }
        }

        public Task<EndpointInfo> ScaleToZeroAsync(string ns, string name, CancellationToken ct = default) =>
            ActionAsync(ns, name, "scale-to-zero", "scale to zero", ct);

        public Task<IReadOnlyList<HardwareInfo>> GetHardwareAsync(string ns, CancellationToken ct = default) =>
            _transport.SendAsync(HttpMethod.Get, new Uri($"{_settings.ApiBase}/provider/{Seg(RequireNs(ns))}"), null,
                new Target("read the hardware catalog of", ns), Json.ToHardware, Call(Policies.ControlRead), ct);

        // ---- logs, replicas and metrics (their reading lives in Insight/) ----

        /// <summary>
        /// Reads the endpoint's logs, passing each line to <paramref name="onLine"/> as it arrives (on the calling task).
        /// With <see cref="LogQuery.Follow"/> it streams until the endpoint stops or <paramref name="ct"/> is cancelled,
        /// and resumes a dropped stream after the last line seen.
        /// </summary>
        public Task ReadLogsAsync(string ns, string name, LogQuery query, Action<EndpointLogLine> onLine, CancellationToken ct = default) =>
            new LogReader(this, _transport, RequireNs(ns), RequireName(name), query ?? throw new ArgumentNullException(nameof(query)),
                onLine ?? throw new ArgumentNullException(nameof(onLine))).RunAsync(Call(Policies.LogStream), ct);

        /// <summary>The last <paramref name="tail"/> lines of the endpoint's logs.</summary>
        public async Task<IReadOnlyList<EndpointLogLine>> GetLogsAsync(string ns, string name, int tail, CancellationToken ct = default)
        {
            var lines = new List<EndpointLogLine>();
            await ReadLogsAsync(ns, name, new LogQuery { Tail = tail }, lines.Add, ct).ConfigureAwait(false);
            return lines;
        }

        public Task<IReadOnlyList<EndpointReplica>> GetReplicasAsync(string ns, string name, CancellationToken ct = default) =>
            _transport.SendAsync(HttpMethod.Get, new Uri(Api(ns, name).AbsoluteUri + "/replica"), null,
                new Target("list the replicas of", RequireNs(ns), RequireName(name)), e => Evidence.ToReplicas(e, ns, name), Call(Policies.ControlRead), ct);

        /// <summary>One metric between two times, one point per <paramref name="step"/> ('30s', '1m', '1h', '1d').</summary>
        public Task<MetricSeries> GetMetricAsync(string ns, string name, string metric, DateTimeOffset since, DateTimeOffset until,
            string step, CancellationToken ct = default)
        {
            if (string.IsNullOrWhiteSpace(metric)) throw Errors.Empty("Metric");
            if (!MetricReader.IsStep(step)) throw Errors.InvalidStep(step);
            if (since >= until) throw Errors.InvalidPeriod(since, until);
            // Whole unix seconds, widened outwards so the period asked for is inside.
            string body = new JsonObject
            {
                ["from"] = since.ToUnixTimeSeconds(),
                ["to"] = (until.AddTicks(TimeSpan.TicksPerSecond - 1)).ToUnixTimeSeconds(),
                ["step"] = step,
            }.ToJsonString();
            // A read, though a POST: safe to retry.
            return _transport.SendAsync(HttpMethod.Post, new Uri(Api(ns, name).AbsoluteUri + "/metrics/" + Seg(metric)), body,
                new Target($"read metric '{metric}' of", RequireNs(ns), RequireName(name)), e => MetricReader.Read(e, ns, name, metric), Call(Policies.ControlRead), ct);
        }

        internal string LogsUri(string ns, string name) => Api(ns, name).AbsoluteUri + "/logs";

        /// <summary>Names: lowercase letters, digits and '-', 1 to 32 characters, no '-' at either end.</summary>
        public static void ValidateName(string name)
        {
            if (name == null || !NamePattern.IsMatch(name)) throw Errors.InvalidName(name);
        }

        private Task<EndpointInfo> ActionAsync(string ns, string name, string route, string verb, CancellationToken ct) =>
            ChangeAsync(ns, name, ct, t => _transport.SendAsync(HttpMethod.Post, new Uri(Api(ns, name).AbsoluteUri + "/" + route), null,
                new Target(verb, RequireNs(ns), RequireName(name)), e => Json.ToEndpoint(e, ns), Call(Policies.ControlWrite), t));

        /// <summary>
        /// A change (an action, an update) and what it answered, told to the observer as this module's action. A 2xx
        /// whose body is not this endpoint (`{}`, another shape) says nothing of its state: the endpoint is read back.
        /// </summary>
        private async Task<EndpointInfo> ChangeAsync(string ns, string name, CancellationToken ct, Func<CancellationToken, Task<EndpointInfo>> send)
        {
            DateTimeOffset sent = _transport.Now;
            EndpointInfo answered = await send(ct).ConfigureAwait(false);
            if (!string.Equals(answered.Name, name, StringComparison.Ordinal)) answered = await GetAsync(ns, name, ct).ConfigureAwait(false);
            Tell(ns, ObservationKind.Action, new[] { answered }, sent);
            return answered;
        }

        /// <summary>Runs a control-plane call and tells the observer what it answered, with when it was asked.</summary>
        private async Task<IReadOnlyList<EndpointInfo>> ObservedAsync(string ns, ObservationKind kind, CancellationToken ct,
            Func<CancellationToken, Task<IReadOnlyList<EndpointInfo>>> call)
        {
            DateTimeOffset sent = _transport.Now;
            IReadOnlyList<EndpointInfo> endpoints = await call(ct).ConfigureAwait(false);
            Tell(ns, kind, endpoints, sent);
            return endpoints;
        }

        /// <param name="complete">The answer lists every endpoint of <paramref name="ns"/> (see <see cref="EndpointObservation.Complete"/>).</param>
        private void Tell(string ns, ObservationKind kind, IReadOnlyList<EndpointInfo> endpoints, DateTimeOffset sent, bool complete = false) =>
            _settings.Observer?.Observe(new EndpointObservation(_settings.ApiBase, ns, kind, endpoints, null, sent, _transport.Now) { Complete = complete, ClockAhead = _transport.ClockAhead });

        /// <summary>
        /// Tells the observer what the data plane showed when the control plane's answer lags: the endpoint serving at its
        /// URL (its health route answered 200), seen now. Keeps the usage history from missing the running state.
        /// </summary>
        internal void ObservedServing(EndpointInfo serving)
        {
            DateTimeOffset now = _transport.Now;
            _settings.Observer?.Observe(new EndpointObservation(_settings.ApiBase, serving.Namespace, ObservationKind.Read, new[] { serving }, null, now, now));
        }

        private static async Task<IReadOnlyList<EndpointInfo>> One(Task<EndpointInfo> call) => new[] { await call.ConfigureAwait(false) };

        // ---- data plane ----

        /// <summary>
        /// One GET of the endpoint's health route (5 s limit). Returns the HTTP status, or 0 when there is no
        /// URL or no answer. Cancellation by <paramref name="ct"/> is still thrown.
        /// </summary>
        public Task<int> ProbeHealthAsync(EndpointInfo endpoint, CancellationToken ct = default) =>
            endpoint?.Url is string url ? ProbeAsync(url, endpoint.HealthRoute, ct) : Task.FromResult(0);

        /// <summary>
        /// One GET of <paramref name="healthRoute"/> under <paramref name="url"/>; 0 when nothing answered. The token goes
        /// only where the one rule allows (<see cref="TokenDestinations"/>): a URL read from the usage history or a status
        /// on another host is probed without it.
        /// </summary>
        public async Task<int> ProbeAsync(string url, string healthRoute, CancellationToken ct = default)
        {
            string route = Inputs.Route(healthRoute, "HealthRoute");
            if (!Uri.TryCreate(url.TrimEnd('/') + route, UriKind.Absolute, out Uri? uri)) return 0;
            var target = new Target("probe the health route of", null);
            try
            {
                return await _transport.Executor.RunAsync(new RequestCall(Policies.Probe), target, uri, async (_, t) =>
                {
                    using HttpRequestMessage request = _transport.DataRequest(HttpMethod.Get, uri, null, scaleUpTimeout: null);
                    using HttpResponseMessage response = await _transport.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, t).ConfigureAwait(false);
                    return Attempt<int>.Done((int)response.StatusCode);
                }, (_, ex, _) => new ProbeUnanswered(ex), ct).ConfigureAwait(false);
            }
            catch (ProbeUnanswered)
            {
                return 0;
            }
        }

        private sealed class ProbeUnanswered : Exception
        {
            public ProbeUnanswered(Exception inner) : base(inner.Message, inner) { }
        }

        /// <summary>
        /// POSTs to <paramref name="route"/> under the endpoint's URL. A paused, failed or URL-less endpoint is an error
        /// before anything is sent; a scaled-to-zero one is woken by the request.
        /// </summary>
        public Task<DataPlaneResponse> SendDataAsync(EndpointInfo endpoint, string? route, Func<HttpContent> content,
            DataPlaneOptions? options = null, CancellationToken ct = default)
        {
            if (endpoint == null) throw new ArgumentNullException(nameof(endpoint));
            options ??= new DataPlaneOptions();
            var target = new Target($"send {options.What} to", endpoint.Namespace, endpoint.Name);
            if (endpoint.Status is EndpointStatus.Failed or EndpointStatus.UpdateFailed) throw Errors.DataFailed(target, endpoint);
            if (endpoint.Status == EndpointStatus.Paused || endpoint.Url == null) throw Errors.DataNotReady(target, endpoint);
            return SendDataCoreAsync(DataUri(endpoint.Url, route, target), target, content, options, ct);
        }

        /// <summary>
        /// POSTs to <paramref name="route"/> under <paramref name="url"/> (an endpoint's URL), with the token as a Bearer
        /// only where the one token rule allows (<see cref="EndpointClientOptions.TokenHosts"/>).
        /// <paramref name="content"/> is called once per attempt, so a file body is reopened rather than held in memory.
        /// Sends X-Scale-Up-Timeout so that the proxy holds the request while a scaled-to-zero endpoint wakes; what is
        /// tried again, and for how long, is the data-plane policy's (<see cref="RequestPolicies.DataPlane"/>).
        /// </summary>
        public Task<DataPlaneResponse> SendDataAsync(Uri url, string? route, Func<HttpContent> content,
            DataPlaneOptions? options = null, CancellationToken ct = default)
        {
            if (url == null) throw new ArgumentNullException(nameof(url));
            options ??= new DataPlaneOptions();
            var target = new Target($"send {options.What} to {Secrets.Mask(url.AbsoluteUri.TrimEnd('/'))}", null);
            return SendDataCoreAsync(DataUri(url.AbsoluteUri, route, target), target, content, options, ct);
        }

        private Task<DataPlaneResponse> SendDataCoreAsync(Uri uri, Target target, Func<HttpContent> content, DataPlaneOptions o, CancellationToken ct)
        {
            if (content == null) throw new ArgumentNullException(nameof(content));
            TimeProvider clock = _settings.Clock;
            long start = clock.GetTimestamp();
            long cap = o.MaxAnswerBytes ?? _settings.MaxDataAnswerBytes;
            var call = new RequestCall(Policies.DataPlane.WithBudget(o.Timeout), _reporter, _endsAt);
            return _transport.Executor.RunAsync(call, target, uri, async (attempt, t) =>
            {
                TimeSpan remaining = o.Timeout - clock.GetElapsedTime(start);
                HttpContent body = content() ?? throw new InvalidOperationException("The content factory returned null.");
                using HttpRequestMessage request = _transport.DataRequest(HttpMethod.Post, uri, body, remaining);
                long sent = body.Headers.ContentLength ?? 0;
                using HttpResponseMessage response = await _transport.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, t).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    byte[] answer = await Transport.ReadCappedAsync(response.Content, cap, target,
                        o.MaxAnswerBytes != null ? "-MaxAnswerBytes" : EndpointClientOptions.MaxDataAnswerVariable + " (MaxDataAnswerBytes)", t).ConfigureAwait(false);
                    return Attempt<DataPlaneResponse>.Done(new DataPlaneResponse((int)response.StatusCode, response.Content?.Headers.ContentType?.MediaType,
                        answer, Transport.Header(response, "X-Request-Id"), clock.GetElapsedTime(start), sent, attempt));
                }
                int status = (int)response.StatusCode;
                string? reason = response.ReasonPhrase;
                (string? message, string? requestId) = await _transport.ServiceWordsAsync(response).ConfigureAwait(false);
                return Attempt<DataPlaneResponse>.Failed(new Failure(FailureKind.Status, status,
                    n => Errors.DataStatus(target, status, reason, message, requestId, n, clock.GetElapsedTime(start)),
                    RequestExecutor.RetryAfter(response, _transport.Now),
                    notice: (delay, next) => $"{o.What}: {status} {reason}; retrying in {delay.TotalSeconds:0.0} s (attempt {next})."));
            }, (kind, ex, attempts) => kind == FailureKind.Hung
                ? Errors.DataTimeout(target, o.Timeout, attempts)
                : Errors.DataUnreachable(target, uri, ex, attempts, clock.GetElapsedTime(start)), ct);
        }

        private static Uri DataUri(string url, string? route, Target target)
        {
            route = Inputs.Route(route, "Route");
            if (!Uri.TryCreate(url.TrimEnd('/') + route, UriKind.Absolute, out Uri? uri)
                || !(uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback)))
                throw Errors.InsecureUrl(target, url);
            // Belt and braces: whatever the route, the request stays under the endpoint's own URL.
            if (!uri.AbsoluteUri.StartsWith(url.TrimEnd('/'), StringComparison.Ordinal))
                throw Errors.InvalidRoute("Route", route, "it leads outside the endpoint's URL");
            return uri;
        }

        /// <summary>
        /// Runs the code of a first <c>Get-MertEndpoint &lt;name&gt;</c> once on a canned answer, touching neither the
        /// network nor any file: ModuleInit calls it off the pipeline thread at import where Core's IL copy loads (no
        /// ReadyToRun image for this runtime and platform), so that the first real command finds most of its code
        /// compiled. That code is about a thousand methods, most of them the async machinery of the request path (each
        /// async method and Polly strategy is its own generic instantiation), which no ahead-of-time image could hold;
        /// compiling them took about 100 ms of a first Get. Where the image loads, ModuleInit skips it (see IsPrecompiled
        /// there): it cost more than it saved.
        /// </summary>
        public static void WarmUp()
        {
            var options = new EndpointClientOptions
            {
                ApiBaseUri = new Uri("https://warm-up.invalid/v2"), HubBaseUri = new Uri("https://warm-up.invalid"),
                Handler = new CannedAnswer(), Accounts = new AccountCache(),   // no directory: nothing on disk
            };
            var client = new EndpointClient("warm-up", options);
            string ns = client.ResolveNamespaceAsync(null).GetAwaiter().GetResult();
            client.GetAsync(ns, "warm-up").GetAwaiter().GetResult();
            Transport.WarmUpShared();
            UsageHistory.WarmUp();
            NamePattern.IsMatch("warm-up");
        }

        /// <summary>Answers whoami with a user and every other request with one running endpoint, as the services would.</summary>
        private sealed class CannedAnswer : HttpMessageHandler
        {
            private const string WhoAmI = "{\"name\":\"warm-up\",\"type\":\"user\",\"orgs\":[]}";
            private const string Endpoint = "{\"name\":\"warm-up\",\"type\":\"protected\",\"compute\":{\"accelerator\":\"gpu\",\"instanceType\":\"nvidia-a10g\",\"instanceSize\":\"x1\",\"scaling\":{\"minReplica\":0,\"maxReplica\":1}},\"model\":{\"repository\":\"m\",\"framework\":\"pytorch\",\"image\":{\"custom\":{\"url\":\"i\",\"healthRoute\":\"/health\"}},\"env\":{}},\"provider\":{\"vendor\":\"aws\",\"region\":\"us-east-1\"},\"status\":{\"state\":\"running\",\"createdAt\":\"2026-01-01T00:00:00.000Z\",\"updatedAt\":\"2026-01-01T00:00:00.000Z\",\"readyReplica\":1,\"targetReplica\":1,\"url\":\"https://warm-up.invalid\"}}";

            // Answers later, not at once: a real answer suspends every await on the way, and that path (the boxed state
            // machines) is most of what there is to compile.
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                await Task.Yield();
                cancellationToken.ThrowIfCancellationRequested();
                return new HttpResponseMessage(System.Net.HttpStatusCode.OK)
                {
                    RequestMessage = request,
                    Content = new StringContent(request.RequestUri!.AbsolutePath.EndsWith("/whoami-v2", StringComparison.Ordinal) ? WhoAmI : Endpoint,
                        System.Text.Encoding.UTF8, "application/json"),
                };
            }
        }

        // ---- plumbing ----

        private Uri Api(string ns) => new($"{_settings.ApiBase}/endpoint/{Seg(RequireNs(ns))}");
        private Uri Api(string ns, string name) => new($"{_settings.ApiBase}/endpoint/{Seg(RequireNs(ns))}/{Seg(RequireName(name))}");
        private static string Seg(string s) => Uri.EscapeDataString(s);

        private static string RequireNs(string ns) => !string.IsNullOrWhiteSpace(ns) ? Inputs.Segment(ns, "Namespace") : throw Errors.Empty("Namespace");
        private static string RequireName(string name) => !string.IsNullOrWhiteSpace(name) ? Inputs.Segment(name, "Name") : throw Errors.Empty("Name");

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

        /// <summary>Passes every line on and counts the waits: a call that waited has sent more than once.</summary>
        private sealed class CountingReporter : Reporter
        {
            private readonly Reporter _inner;
            private int _waits;

            public CountingReporter(Reporter inner) => _inner = inner;

            public int Waits => Volatile.Read(ref _waits);

            public override void Detail(string line) => _inner.Detail(line);
            public override void Waiting(string line, TimeSpan wait)
            {
                Interlocked.Increment(ref _waits);
                _inner.Waiting(line, wait);
            }
            public override void Progress(WaitProgress progress) => _inner.Progress(progress);
            public override void Warning(string line) => _inner.Warning(line);
            public override void Notice(string line) => _inner.Notice(line);
            public override void Summary(string line) => _inner.Summary(line);
        }
    }
}
