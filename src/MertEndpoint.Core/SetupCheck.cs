using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>One namespace's listing, as the setup check tried it.</summary>
    public sealed class SetupListing
    {
        internal SetupListing(string ns, string role) { Namespace = ns; Role = role; }

        public string Namespace { get; }
        /// <summary>"user" (the token's own), "organization" (one the token belongs to) or "other" (given with -Namespace).</summary>
        public string Role { get; }
        /// <summary>True when its endpoints could be listed.</summary>
        public bool Readable { get; internal set; }
        /// <summary>How many endpoints it has, when readable.</summary>
        public int? Endpoints { get; internal set; }
        /// <summary>Why it could not be listed, when it could not.</summary>
        public string? Problem { get; internal set; }

        public override string ToString() =>
            Readable ? $"{Namespace} ({Role}): {Errors.Plural(Endpoints ?? 0, "endpoint")}" : $"{Namespace} ({Role}): cannot be listed";
    }

    /// <summary>
    /// What Test-MertEndpointSetup found: which token is used and where it came from (never the token), the account, the
    /// namespace and organizations, whether each listing can be read, the default hardware's price and quota, where the
    /// usage history is and how large. <see cref="Ok"/> is true when nothing is missing.
    /// </summary>
    public sealed class SetupReport
    {
        /// <summary>True when the check found no problem (<see cref="Problems"/> is empty).</summary>
        public bool Ok => Problems.Count == 0;
        /// <summary>Where the token came from: "-Token", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN" or the token file's path; null when none was found.</summary>
        public string? TokenSource { get; internal set; }
        /// <summary>The token's account (whoami-v2), when it could be looked up.</summary>
        public string? User { get; internal set; }
        /// <summary>"user", "org" or "app".</summary>
        public string? AccountType { get; internal set; }
        public IReadOnlyList<string> Organizations { get; internal set; } = Array.Empty<string>();
        /// <summary>The namespace commands use when -Namespace is left out (or the one given).</summary>
        public string? Namespace { get; internal set; }
        /// <summary>Where <see cref="Namespace"/> came from: "-Namespace", "MERT_ENDPOINT_NAMESPACE" or "the token's user".</summary>
        public string? NamespaceSource { get; internal set; }
        /// <summary>Each namespace's listing: the namespace, the token's user and each of its organizations.</summary>
        public IReadOnlyList<SetupListing> Listings { get; internal set; } = Array.Empty<SetupListing>();
        /// <summary>The default hardware of New-MertEndpoint, as "vendor region type size".</summary>
        public string Hardware { get; } = $"{MertDefaults.Vendor} {MertDefaults.Region} {MertDefaults.InstanceType} {MertDefaults.InstanceSize}";
        /// <summary>USD per replica-hour of the default hardware in the namespace's catalog, when it offers it.</summary>
        public decimal? PricePerHour { get; internal set; }
        /// <summary>"used/max" accelerators of the default hardware's quota, when the catalog gives one.</summary>
        public string? Quota { get; internal set; }
        /// <summary>The control plane this session talks to (MERT_ENDPOINT_API_URL).</summary>
        public string? ApiUrl { get; internal set; }
        /// <summary>The Hub, for whoami (HF_ENDPOINT).</summary>
        public string? HubUrl { get; internal set; }
        /// <summary>The usage history file (MERT_ENDPOINT_HISTORY_PATH, else the per-user data directory).</summary>
        public string HistoryPath { get; internal set; } = "";
        /// <summary>Its size in bytes before this check; null when it does not exist yet (the first command that sees an endpoint creates it).</summary>
        public long? HistoryBytes { get; internal set; }
        /// <summary>
        /// How far this machine's clock runs ahead of the control plane's (negative: behind), from its answers' Date header,
        /// to within a couple of seconds (whole seconds, and a server may cache its Date for a second); null when no answer carried one. Past a minute either way it is a problem: the usage
        /// history dates what this machine sees by its clock.
        /// </summary>
        public TimeSpan? ClockAhead { get; internal set; }
        /// <summary>Each problem found, as its error message says it; empty when <see cref="Ok"/>.</summary>
        public IReadOnlyList<string> Problems { get; internal set; } = Array.Empty<string>();

        public override string ToString() => Ok ? "Setup OK" : $"Setup incomplete: {Errors.Plural(Problems.Count, "problem")}";
    }

    /// <summary>
    /// The setup check: what can be known without a request first (<see cref="Begin"/>: the token's source, the base
    /// URLs, the usage history), then what the service says (<see cref="RunAsync"/>). Every problem is an
    /// <see cref="EndpointErrorKind.SetupIncomplete"/> error in <see cref="Problems"/>; nothing here throws for a bad setup.
    /// The token is never kept in the report.
    /// </summary>
    public sealed class SetupCheck
    {
        private readonly List<EndpointException> _problems = new();
        private readonly SetupReport _report = new();

        private SetupCheck() { }

        /// <summary>The problems found so far, in the order found.</summary>
        public IReadOnlyList<EndpointException> Problems => _problems;

        /// <summary>True when a token was found and the base URLs are valid: the checks that send requests can run.</summary>
        public bool CanConnect { get; private set; }

        /// <summary>The checks that send nothing: where the token comes from, the base URLs, the usage history's place and size.</summary>
        /// <param name="explicitToken">-Token, or null.</param>
        public static SetupCheck Begin(string? explicitToken, ClientFactory factory)
        {
            var check = new SetupCheck();
            SetupReport r = check._report;
            bool tokenFound = false;
            try
            {
                if (TokenResolver.TryResolve(explicitToken, out string source) != null)
                {
                    r.TokenSource = source == "parameter" ? "-Token" : source;
                    tokenFound = true;
                }
                else check.Add(Errors.SetupIncomplete(Errors.TokenNotFound(TokenResolver.TokenFilePath())));
            }
            catch (EndpointException ex)
            {
                check.Add(Errors.SetupIncomplete(ex)); // an empty -Token, or a token no header can carry: the message names its source
            }

            bool urlsValid = false;
            try
            {
                EndpointClientOptions options = factory.CreateOptions();
                r.ApiUrl = options.ApiBaseUri.AbsoluteUri.TrimEnd('/');
                r.HubUrl = options.HubBaseUri.AbsoluteUri.TrimEnd('/');
                urlsValid = true;
            }
            catch (EndpointException ex)
            {
                check.Add(Errors.SetupIncomplete(ex));
            }

            // Before any listing: a listing records what it sees, and the size is the history's as it was.
            r.HistoryPath = Path.GetFullPath(factory.HistoryPath);
            try
            {
                var file = new FileInfo(r.HistoryPath);
                if (file.Exists)
                {
                    r.HistoryBytes = file.Length;
                    using (File.Open(r.HistoryPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete)) { }
                }
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                check.Add(Errors.SetupHistoryUnreadable(r.HistoryPath, ex));
            }

            // A retention not understood drops nothing (everything is kept), but the user meant something else.
            if (UsageHistory.RetentionFrom(Environment.GetEnvironmentVariable(UsageHistory.RetentionVariable)).Problem is string retention)
                check.Add(Errors.SetupIncomplete(Errors.InvalidSetting(UsageHistory.RetentionVariable, retention + "; until it is fixed the history keeps everything")));
            if (UsageHistory.CompactMaxFrom(Environment.GetEnvironmentVariable(UsageHistory.CompactMaxVariable)).Problem is string compactMax)
                check.Add(Errors.SetupIncomplete(Errors.InvalidSetting(UsageHistory.CompactMaxVariable, compactMax + "; until it is fixed the default holds")));

            check.CanConnect = tokenFound && urlsValid;
            return check;
        }

        /// <summary>
        /// The checks that ask the service (when <paramref name="client"/> is given): the token's account, the namespace,
        /// each listing, the default hardware in the catalog. Returns the report with every problem found.
        /// </summary>
        /// <param name="client">Null when <see cref="CanConnect"/> is false: nothing is sent.</param>
        /// <param name="requestedNamespace">-Namespace, or null for the default; '*' counts as the default.</param>
        public async Task<SetupReport> RunAsync(EndpointClient? client, string? requestedNamespace, CancellationToken ct)
        {
            if (client != null) await AskServiceAsync(client, requestedNamespace == "*" ? null : requestedNamespace, ct).ConfigureAwait(false);
            _report.Problems = _problems.Select(p => p.Message).ToList();
            return _report;
        }

        private async Task AskServiceAsync(EndpointClient client, string? requested, CancellationToken ct)
        {
            SetupReport r = _report;
            WhoAmI? me = null;
            bool tokenRefused = false;
            try
            {
                // Asked afresh, not from the cache (a day on disk): a check must say what is true now, for example that
                // the token was revoked or joined an organization. A 429 keeps the older answer and warns how old it is.
                me = await client.WhoAmIAsync(TimeSpan.Zero, ct).ConfigureAwait(false);
                r.User = me.Name;
                r.AccountType = me.Type;
                r.Organizations = me.Orgs.ToList();
            }
            catch (EndpointException ex)
            {
                tokenRefused = ex.Kind == EndpointErrorKind.Unauthorized;
                Add(Errors.SetupIncomplete(ex));
            }

            string? fromEnv = Environment.GetEnvironmentVariable(EndpointClient.NamespaceVariable);
            string? nsSource = !string.IsNullOrWhiteSpace(requested) ? "-Namespace"
                : !string.IsNullOrWhiteSpace(fromEnv) ? EndpointClient.NamespaceVariable
                : me != null ? "the token's user" : null;
            if (nsSource != null)
            {
                try
                {
                    // Uses the account looked up above (cached): no second whoami.
                    r.Namespace = await client.ResolveNamespaceAsync(requested, ct).ConfigureAwait(false);
                    r.NamespaceSource = nsSource;
                }
                catch (EndpointException ex)
                {
                    Add(Errors.SetupIncomplete(ex));
                }
            }
            if (tokenRefused) return; // every listing would answer 401 as well: the one problem says it

            var listings = new List<SetupListing>();
            void Plan(string? ns, string role)
            {
                if (!string.IsNullOrEmpty(ns) && !listings.Any(l => l.Namespace == ns)) listings.Add(new SetupListing(ns!, role));
            }
            string RoleOf(string ns) => me != null && ns == me.Name ? "user" : me != null && me.Orgs.Contains(ns) ? "organization" : "other";
            if (r.Namespace != null) Plan(r.Namespace, RoleOf(r.Namespace));
            if (me != null && me.Type == "user") Plan(me.Name, "user");
            foreach (string org in me?.Orgs ?? Array.Empty<string>()) Plan(org, "organization");

            Task<EndpointException?>[] reads = listings.Select(l => ListAsync(client, l, ct)).ToArray();
            Task<EndpointException?> catalog = r.Namespace != null ? CatalogAsync(client, r.Namespace, ct) : Task.FromResult<EndpointException?>(null);
            // In the order a reader expects: the listings first, then the catalog.
            foreach (var read in reads) Add(await read.ConfigureAwait(false));
            Add(await catalog.ConfigureAwait(false));
            r.Listings = listings;
            if (client.ClockAhead is TimeSpan ahead)
            {
                // The Date is cut to whole seconds (and may be cached for one), so the service's clock was a little later: the
                // true lead is at most this, and a couple of seconds less at worst; whole seconds down.
                r.ClockAhead = TimeSpan.FromSeconds(Math.Floor(ahead.TotalSeconds));
                if (ahead.Duration() > ClockAllowance) Add(Errors.SetupClockOff(r.ClockAhead.Value));
            }
        }

        private static async Task<EndpointException?> ListAsync(EndpointClient client, SetupListing listing, CancellationToken ct)
        {
            try
            {
                listing.Endpoints = (await client.ListAsync(listing.Namespace, ct).ConfigureAwait(false)).Count;
                listing.Readable = true;
                return null;
            }
            catch (EndpointException ex)
            {
                var problem = Errors.SetupListingUnreadable(listing.Namespace, listing.Role, ex);
                listing.Problem = problem.Message;
                return problem;
            }
        }

        private async Task<EndpointException?> CatalogAsync(EndpointClient client, string ns, CancellationToken ct)
        {
            IReadOnlyList<HardwareInfo> offers;
            try
            {
                offers = await client.GetHardwareAsync(ns, ct).ConfigureAwait(false);
            }
            catch (EndpointException ex)
            {
                return Errors.SetupIncomplete(ex);
            }
            HardwareInfo? hw = offers.FirstOrDefault(h => Same(h.Vendor, MertDefaults.Vendor) && Same(h.Region, MertDefaults.Region)
                && Same(h.InstanceType, MertDefaults.InstanceType) && Same(h.InstanceSize, MertDefaults.InstanceSize));
            if (hw == null) return Errors.SetupNoDefaultHardware(ns, _report.Hardware);
            _report.PricePerHour = hw.PricePerHour;
            _report.Quota = hw.Quota;
            if (hw.QuotaMaxAccelerators is int max && (hw.QuotaUsedAccelerators ?? 0) + Math.Max(1, hw.NumAccelerators) > max)
                return Errors.SetupQuotaUsedUp(ns, _report.Hardware, hw.QuotaUsedAccelerators ?? 0, max);
            return null;
        }

        /// <summary>A clock further off than this from the control plane's is a problem (the Date header is whole seconds).</summary>
        internal static readonly TimeSpan ClockAllowance = TimeSpan.FromMinutes(1);

        private static bool Same(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

        private void Add(EndpointException? problem)
        {
            if (problem != null) _problems.Add(problem);
        }
    }
}
