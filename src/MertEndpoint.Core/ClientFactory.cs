using System;
using System.Collections.Concurrent;
using System.IO;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>
    /// What the cmdlets build their clients from: the HTTP handler, the clock, the token lookups and the usage history.
    /// A real session never makes one: the cmdlets use <see cref="Machine"/> (the shared handler, the system clock, the
    /// per-user data directory and the environment's settings). A host that runs the cmdlets in-process, such as the
    /// PowerShell tests, puts its own instance into the runspace as the variable <see cref="VariableName"/>
    /// (InitialSessionState.Variables), so each runspace has its own and nothing is shared between runspaces.
    /// </summary>
    /// <remarks>
    /// It lives in Core, not in the cmdlet assembly, because it names <see cref="TimeProvider"/>: on PowerShell 7 the
    /// cmdlet assembly loads in the default context, where Microsoft.Bcl.TimeProvider is not found.
    /// </remarks>
    public sealed class ClientFactory
    {
        /// <summary>The runspace variable the cmdlets read; reserved, and set only by a host that embeds them.</summary>
        public const string VariableName = "__MertEndpointClientFactory";

        private const string CacheDirVariable = "MERT_ENDPOINT_CACHE_DIR";
        private readonly string? _dataDirectory;
        private readonly ConcurrentDictionary<string, UsageService> _usage = new(StringComparer.Ordinal);

        /// <summary>The session of a real pwsh: one per process, the only one a real session ever uses.</summary>
        internal static ClientFactory Machine { get; } = new ClientFactory();

        /// <param name="handler">Every request goes through it; null: the process-wide shared handler.</param>
        /// <param name="clock">Every wait, timeout and date; null: the system clock.</param>
        /// <param name="dataDirectory">
        /// Holds the usage history (usage.jsonl) and the token lookups (accounts/); null: the environment's
        /// (MERT_ENDPOINT_HISTORY_PATH, MERT_ENDPOINT_CACHE_DIR, else the per-user data directory).
        /// </param>
        public ClientFactory(HttpMessageHandler? handler = null, TimeProvider? clock = null, string? dataDirectory = null, RetryAfterGate? retryAfterGate = null)
        {
            Handler = handler;
            RetryAfterGate = retryAfterGate ?? RetryAfterGate.Process;
            Clock = clock ?? TimeProvider.System;
            _dataDirectory = dataDirectory;
            string? cacheDir = Environment.GetEnvironmentVariable(CacheDirVariable);
            Accounts = new AccountCache(directory: dataDirectory != null ? Path.Combine(dataDirectory, "accounts")
                : cacheDir != null && cacheDir.Trim().Length > 0 ? cacheDir : Path.Combine(UsageHistory.DataDirectory(), "accounts"));
        }

        public HttpMessageHandler? Handler { get; }

        /// <summary>The Retry-After holds its clients share: the process's, unless a test gives its runspace its own.</summary>
        public RetryAfterGate RetryAfterGate { get; }
        public TimeProvider Clock { get; }

        /// <summary>Token lookups (whoami, rate limited): an hour in memory, a day on disk; shared by every client of this factory.</summary>
        public AccountCache Accounts { get; }

        /// <summary>What this session's commands last did to each endpoint (the lifecycle's own memory).</summary>
        public LifecycleMemory Memory { get; } = new LifecycleMemory();

        /// <summary>Now, on <see cref="Clock"/> (for callers that must not name TimeProvider; see the remarks).</summary>
        public DateTimeOffset Now => Clock.GetUtcNow();

        /// <summary>
        /// A timestamp of this factory's clock, for <see cref="Since"/>. The cmdlets measure time through these two, never
        /// through <see cref="Clock"/>: TimeProvider comes from a dependency that lives in Core's private load context,
        /// which the cmdlet assembly cannot resolve on its own (a FileNotFoundException at run time, not at build time).
        /// </summary>
        public long Timestamp() => Clock.GetTimestamp();

        /// <summary>The time elapsed on this factory's clock since <paramref name="timestamp"/> (from <see cref="Timestamp"/>).</summary>
        public TimeSpan Since(long timestamp) => Clock.GetElapsedTime(timestamp);

        /// <summary>The usage history file; without a data directory it is read from the environment at each call.</summary>
        public string HistoryPath => _dataDirectory != null ? Path.Combine(_dataDirectory, "usage.jsonl") : UsageHistory.DefaultPath();

        /// <summary>The usage history and prices of <see cref="HistoryPath"/>: one service per file, on <see cref="Clock"/>.</summary>
        public UsageService Usage => _usage.GetOrAdd(Path.GetFullPath(HistoryPath), p => new UsageService(new UsageHistory(p), Clock));

        /// <summary>Options for one client: the environment's base URLs with this factory's handler, clock and token lookups.</summary>
        /// <summary>Tests only: the command deadline in place of MERT_ENDPOINT_COMMAND_TIMEOUT_SEC's.</summary>
        public TimeSpan? CommandTimeout { get; set; }

        /// <summary>A source cancelled after <paramref name="limit"/> on this factory's clock (a deadline, not a wait).</summary>
        public CancellationTokenSource Deadline(TimeSpan limit) => Clock.CreateCancellationTokenSource(limit);

        public EndpointClientOptions CreateOptions()
        {
            EndpointClientOptions options = EndpointClientOptions.FromEnvironment();
            if (CommandTimeout is TimeSpan limit) options.CommandTimeout = limit;
            options.Handler = Handler;
            options.TimeProvider = Clock;
            options.Accounts = Accounts;
            options.RetryAfterGate = RetryAfterGate;
            return options;
        }
    }
}
