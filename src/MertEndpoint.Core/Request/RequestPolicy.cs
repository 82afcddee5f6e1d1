using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;

namespace MertEndpoint
{
    /// <summary>Why one attempt did not give an answer the caller can use.</summary>
    internal enum FailureKind
    {
        /// <summary>The service answered with an error status.</summary>
        Status,
        /// <summary>The connection dropped, or the request could not be sent.</summary>
        Dropped,
        /// <summary>No answer within the attempt timeout.</summary>
        Hung,
        /// <summary>A 2xx whose body could not be read (a proxy's page, truncated JSON).</summary>
        Unreadable,
        /// <summary>A followed stream ended while its source is still up: ask again after a fixed pause.</summary>
        StreamEnded,
    }

    /// <summary>
    /// What one kind of request may do when it fails, as data: which failures are tried again, how often, how long to
    /// wait between tries, how long the whole call may take, and whether a Retry-After is honoured. One
    /// <see cref="RequestExecutor"/> runs every policy; nothing else in Core retries or waits between tries.
    /// The rule for Retry-After is the same everywhere: never send to a host before it said (the process-wide
    /// <see cref="RetryAfterGate"/>); when that time does not fit what is left of the call's budget, fail at once
    /// with <see cref="EndpointErrorKind.RateLimited"/> naming the time to try again.
    /// </summary>
    internal sealed class RequestPolicy
    {
        public RequestPolicy(string name, string usedBy, int maxAttempts, TimeSpan timeBudget, TimeSpan attemptTimeout,
            IReadOnlyCollection<int> retriedStatuses, bool retriesDropped, bool retriesHung, bool retriesUnreadable,
            TimeSpan baseDelay, TimeSpan maxDelay, bool honoursRetryAfter = true, int? patientStatus = null, int patientMaxAttempts = 0,
            TimeSpan? streamRepoll = null, bool attemptTimeoutCoversHeadersOnly = false)
        {
            Name = name;
            UsedBy = usedBy;
            MaxAttempts = Math.Max(1, maxAttempts);
            TimeBudget = timeBudget;
            AttemptTimeout = attemptTimeout;
            RetriedStatuses = retriedStatuses;
            RetriesDropped = retriesDropped;
            RetriesHung = retriesHung;
            RetriesUnreadable = retriesUnreadable;
            BaseDelay = baseDelay;
            MaxDelay = maxDelay;
            HonoursRetryAfter = honoursRetryAfter;
            PatientStatus = patientStatus;
            PatientMaxAttempts = Math.Max(MaxAttempts, patientMaxAttempts);
            StreamRepoll = streamRepoll;
            AttemptTimeoutCoversHeadersOnly = attemptTimeoutCoversHeadersOnly;
        }

        public string Name { get; }
        /// <summary>The operations that send their requests under this policy (for the generated table).</summary>
        public string UsedBy { get; }
        /// <summary>Attempts in a row (the first included) before the call gives up.</summary>
        public int MaxAttempts { get; }
        /// <summary>The whole call, attempts and waits included; <see cref="Timeout.InfiniteTimeSpan"/> for none (a followed stream).</summary>
        public TimeSpan TimeBudget { get; }
        /// <summary>One attempt; <see cref="Timeout.InfiniteTimeSpan"/> for none (the time budget still bounds it).</summary>
        public TimeSpan AttemptTimeout { get; }
        public IReadOnlyCollection<int> RetriedStatuses { get; }
        public bool RetriesDropped { get; }
        public bool RetriesHung { get; }
        /// <summary>Only for requests that are safe to repeat.</summary>
        public bool RetriesUnreadable { get; }
        public TimeSpan BaseDelay { get; }
        public TimeSpan MaxDelay { get; }
        /// <summary>Waits for the host's Retry-After (when it fits the budget); false only for a send-once-at-once pause.</summary>
        public bool HonoursRetryAfter { get; }
        /// <summary>A status tried again up to <see cref="PatientMaxAttempts"/> (a waking endpoint's 503), within the time budget.</summary>
        public int? PatientStatus { get; }
        public int PatientMaxAttempts { get; }
        /// <summary>The pause before asking again when a followed stream ended while its source is up; null: not a stream.</summary>
        public TimeSpan? StreamRepoll { get; }
        /// <summary>The attempt timeout bounds the answer's headers only (a followed stream is quiet for as long as its source).</summary>
        public bool AttemptTimeoutCoversHeadersOnly { get; }

        public bool Retries(FailureKind kind, int status) => kind switch
        {
            FailureKind.Status => RetriedStatuses.Contains(status) || status == PatientStatus,
            FailureKind.Dropped => RetriesDropped,
            FailureKind.Hung => RetriesHung,
            FailureKind.Unreadable => RetriesUnreadable,
            FailureKind.StreamEnded => StreamRepoll != null,
            _ => false,
        };

        /// <summary>How many attempts in a row a failure of this kind may take.</summary>
        public int AttemptsFor(FailureKind kind, int status) =>
            kind == FailureKind.Status && status == PatientStatus ? PatientMaxAttempts : MaxAttempts;

        /// <summary>
        /// The wait before try number <paramref name="retry"/> + 2 when the server named none: exponential from
        /// <see cref="BaseDelay"/>, capped at <see cref="MaxDelay"/>, times <paramref name="jitter"/> (0.5 to 1: "equal jitter").
        /// </summary>
        public TimeSpan Backoff(int retry, double jitter)
        {
            double exponential = BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(retry, 30));
            double capped = Math.Min(exponential, MaxDelay.TotalMilliseconds);
            return TimeSpan.FromMilliseconds(capped * Math.Min(1, Math.Max(0.5, jitter)));
        }

        public RequestPolicy WithBudget(TimeSpan budget) => new(Name, UsedBy, MaxAttempts, budget, AttemptTimeout, RetriedStatuses,
            RetriesDropped, RetriesHung, RetriesUnreadable, BaseDelay, MaxDelay, HonoursRetryAfter, PatientStatus, PatientMaxAttempts,
            StreamRepoll, AttemptTimeoutCoversHeadersOnly);

        /// <summary>
        /// The worst case of one call when every attempt fails the same way, waits at their longest (jitter 1): how many
        /// attempts go out and how long it takes. The executor follows the same arithmetic (tests assert the two agree).
        /// </summary>
        public (int Attempts, TimeSpan Elapsed) WorstCase(FailureKind kind, int status = 503)
        {
            int limit = AttemptsFor(kind, status);
            TimeSpan t = TimeSpan.Zero;
            bool bounded = TimeBudget != Timeout.InfiniteTimeSpan;
            for (int attempt = 1; ; attempt++)
            {
                if (kind == FailureKind.Hung)
                {
                    TimeSpan each = AttemptTimeout == Timeout.InfiniteTimeSpan ? TimeBudget : AttemptTimeout;
                    if (bounded && t + each >= TimeBudget) return (attempt, TimeBudget);
                    t += each;
                }
                if (!Retries(kind, status) || attempt >= limit) return (attempt, t);
                TimeSpan delay = Backoff(attempt - 1, 1.0);
                if (bounded && delay >= TimeBudget - t) return (attempt, t);
                t += delay;
            }
        }
    }

    /// <summary>Every policy of one client, built from its settings; <see cref="Defaults"/> for the documented table.</summary>
    internal sealed class RequestPolicies
    {
        private static readonly int[] Transient = { 429, 500, 502, 503, 504 };
        private static readonly int[] DataTransient = { 429, 502, 504 };

        public RequestPolicies(ClientSettings s)
        {
            int attempts = s.MaxRetryAttempts + 1;
            TimeSpan budget = s.RetryBudget;
            ControlRead = new RequestPolicy("control-read", "get, list, whoami, hardware catalog, replicas, metrics (GET, and the metric POST that only reads)",
                attempts, budget, s.AttemptTimeout, Transient, true, true, true, s.RetryBaseDelay, s.MaxRetryDelay);
            ControlWrite = new RequestPolicy("control-write", "update (PUT), delete, pause, resume, scale-to-zero (each safe to repeat)",
                attempts, budget, s.AttemptTimeout, Transient, true, true, false, s.RetryBaseDelay, s.MaxRetryDelay);
            Create = new RequestPolicy("create", "create (POST): after an attempt that may have landed, a single GET decides before posting again; a 409 then is success",
                attempts, budget, s.AttemptTimeout, Transient, true, true, false, s.RetryBaseDelay, s.MaxRetryDelay);
            DataPlane = new RequestPolicy("data-plane", "Invoke-MertEndpoint's requests (POST to the endpoint's URL): a waking endpoint's 503 is tried again until the -Timeout",
                attempts, TimeSpan.FromMinutes(10), Timeout.InfiniteTimeSpan, DataTransient, true, false, false, s.RetryBaseDelay, s.MaxRetryDelay,
                patientStatus: 503, patientMaxAttempts: 100);
            LogStream = new RequestPolicy("log-stream", "Get-MertEndpointLog: attempts in a row without a new line; a stream that delivered lines starts a new count; -Follow has no time budget",
                attempts, budget, s.AttemptTimeout, Transient, true, true, false, s.RetryBaseDelay, s.MaxRetryDelay,
                streamRepoll: TimeSpan.FromSeconds(1), attemptTimeoutCoversHeadersOnly: true);
            OwedPause = new RequestPolicy("owed-pause", "the pause owed after a failed or cancelled start and at the end of Use: Retry-After honoured in full within its bound",
                100, TimeSpan.FromMinutes(5), s.AttemptTimeout, Transient, true, true, false, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
            OwedPauseOnSignal = new RequestPolicy("owed-pause-on-signal", "the owed pauses of a process told to end by a signal (SIGTERM, SIGHUP, SIGINT without a console): once each, at once, in parallel, no Retry-After wait",
                1, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), Array.Empty<int>(), false, false, false, TimeSpan.Zero, TimeSpan.Zero, honoursRetryAfter: false);
            CreateCheck = new RequestPolicy("create-check", "the GET inside a create attempt (one try: the create's own policy retries)",
                1, budget, s.AttemptTimeout, Array.Empty<int>(), false, false, false, TimeSpan.Zero, TimeSpan.Zero);
            Probe = new RequestPolicy("health-probe", "the readiness waiter's health probe (one GET; the waiter's own schedule asks again)",
                1, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), Array.Empty<int>(), false, false, false, TimeSpan.Zero, TimeSpan.Zero, honoursRetryAfter: false);
        }

        public RequestPolicy ControlRead { get; }
        public RequestPolicy ControlWrite { get; }
        public RequestPolicy Create { get; }
        public RequestPolicy CreateCheck { get; }
        public RequestPolicy DataPlane { get; }
        public RequestPolicy LogStream { get; }
        public RequestPolicy OwedPause { get; }
        /// <summary>For a process told to end by a signal: each owed pause once, at once (<see cref="OwedPauses.PayAll"/>).</summary>
        public RequestPolicy OwedPauseOnSignal { get; }
        public RequestPolicy Probe { get; }

        public IReadOnlyList<RequestPolicy> All => new[] { ControlRead, ControlWrite, Create, CreateCheck, DataPlane, LogStream, OwedPause, OwedPauseOnSignal, Probe };

        /// <summary>The policies of a client built with default options (what the documentation shows).</summary>
        public static RequestPolicies Defaults => new(new ClientSettings(new EndpointClientOptions()));

        /// <summary>The reliability table, as Markdown: written by a test to docs/RELIABILITY-GENERATED.md.</summary>
        public string ToMarkdown()
        {
            var sb = new StringBuilder();
            sb.AppendLine("<!-- Generated from RequestPolicies (src/MertEndpoint.Core/Request/RequestPolicy.cs) by the test");
            sb.AppendLine("     RequestPolicyTests.The_policy_table_is_generated_from_the_policy_objects_and_written_for_the_docs; do not edit by hand. -->");
            sb.AppendLine("# Request policies: attempts and time bounds");
            sb.AppendLine();
            sb.AppendLine("Every request Core sends runs under one of these policies, in one executor. The worst case of a call is its");
            sb.AppendLine("budget, never a product of nested loops. \"503 forever\", \"dropped\" and \"hang\" give the attempts and the time");
            sb.AppendLine("until the call gives up when every attempt fails that way, with every wait at its longest.");
            sb.AppendLine();
            sb.AppendLine("| policy | used by | retried | attempts | per attempt | time budget | Retry-After | 503 forever | dropped | hang |");
            sb.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
            foreach (RequestPolicy p in All)
            {
                var retried = new List<string>();
                if (p.RetriedStatuses.Count > 0) retried.Add(string.Join(", ", p.RetriedStatuses.Select(i => i.ToString(CultureInfo.InvariantCulture))));
                if (p.PatientStatus is int patient) retried.Add($"{patient} (up to {p.PatientMaxAttempts})");
                if (p.RetriesDropped) retried.Add("dropped connection");
                if (p.RetriesHung) retried.Add("no answer in time");
                if (p.RetriesUnreadable) retried.Add("unreadable 2xx");
                if (p.StreamRepoll is TimeSpan repoll) retried.Add($"stream ended while up (again after {Errors.Duration(repoll)})");
                sb.Append("| ").Append(p.Name).Append(" | ").Append(p.UsedBy).Append(" | ")
                    .Append(retried.Count == 0 ? "nothing" : string.Join("; ", retried)).Append(" | ")
                    .Append(p.MaxAttempts.ToString(CultureInfo.InvariantCulture)).Append(" | ")
                    .Append(Errors.Duration(p.AttemptTimeout)).Append(p.AttemptTimeoutCoversHeadersOnly ? " (headers)" : "").Append(" | ")
                    .Append(Errors.Duration(p.TimeBudget)).Append(" | ")
                    .Append(p.HonoursRetryAfter ? "waited when it fits the budget, else RateLimited at once naming the time" : "not waited").Append(" | ")
                    .Append(Cell(p.WorstCase(FailureKind.Status, 503))).Append(" | ")
                    .Append(Cell(p.WorstCase(FailureKind.Dropped))).Append(" | ")
                    .Append(Cell(p.WorstCase(FailureKind.Hung))).AppendLine(" |");
            }
            sb.AppendLine();
            sb.AppendLine("The data-plane budget is the call's -Timeout (10 min by default) and the owed pause's is -OwedPauseTimeout");
            sb.AppendLine($"(5 min by default); the others come from {EndpointClientOptions.RetryBudgetVariable} ({Errors.Duration(EndpointClientOptions.DefaultRetryBudget)} by default). A start passes its");
            sb.AppendLine("-Timeout to its calls as a deadline: a Retry-After past it fails the start at once with RateLimited.");
            return sb.ToString();
        }

        private static string Cell((int Attempts, TimeSpan Elapsed) w) => $"{w.Attempts} in {Errors.Duration(w.Elapsed)}";
    }

    /// <summary>
    /// One call's policy and who hears about its waits, passed explicitly (no ambient state): the reporter of the
    /// operation the call belongs to (a start's says them on its progress, an owed pause's in its own lines).
    /// </summary>
    internal sealed class RequestCall
    {
        public RequestCall(RequestPolicy policy, Reporter? reporter = null, long? endsAt = null)
        {
            Policy = policy;
            Reporter = reporter ?? Reporter.None;
            EndsAt = endsAt;
        }

        public RequestPolicy Policy { get; }
        /// <summary>Told before each wait (<see cref="Reporter.Waiting"/>, any thread).</summary>
        public Reporter Reporter { get; }
        /// <summary>
        /// The caller's own deadline (a timestamp of the client's clock), when it has one: a Retry-After past it fails at
        /// once. The caller's cancellation token still does the cutting.
        /// </summary>
        public long? EndsAt { get; }

        public RequestCall With(RequestPolicy policy) => new(policy, Reporter, EndsAt);
    }
}
