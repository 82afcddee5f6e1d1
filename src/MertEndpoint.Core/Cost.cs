using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    public sealed partial class EndpointClient
    {
        // The catalog changes rarely: one lookup per control plane and namespace per process.
        private static readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<HardwareInfo>>>> CatalogCache =
            new ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<HardwareInfo>>>>(StringComparer.Ordinal);

        // Published list prices (USD per replica-hour, AWS), used only when the live catalog has no price.
        private static readonly Dictionary<string, decimal> ListPrices = new Dictionary<string, decimal>(StringComparer.OrdinalIgnoreCase)
        {
            ["nvidia-a10g x1"] = 1.00m, ["nvidia-a10g x4"] = 5.00m, ["nvidia-t4 x1"] = 0.50m, ["nvidia-l4 x1"] = 0.80m,
            ["nvidia-l40s x1"] = 1.80m, ["nvidia-a100 x1"] = 2.50m, ["nvidia-h200 x1"] = 5.00m, ["intel-spr x1"] = 0.033m,
        };

        /// <summary>
        /// Billed time and estimated spend per endpoint of a namespace between since and until, from the usage
        /// history (<see cref="EndpointClientOptions.History"/>). The namespace is listed first, so the current
        /// state of every endpoint is in the history before it is read. Prices come from the live catalog.
        /// </summary>
        public async Task<IReadOnlyList<EndpointCost>> GetCostAsync(string ns, DateTimeOffset since, DateTimeOffset until, CancellationToken ct = default)
        {
            if (Options.History == null)
                throw new EndpointException(EndpointErrorKind.InvalidConfiguration, "No usage history is configured, so no cost can be computed.");
            await ListAsync(ns, ct).ConfigureAwait(false);
            var events = Options.History.Read().Where(e => e.Api == _apiBase && e.Namespace == ns);
            var costs = UsageHistory.Summarize(events, since, until);
            var catalog = await TryGetCatalogAsync(ns, ct).ConfigureAwait(false);
            foreach (var cost in costs)
            {
                (cost.PricePerHour, cost.PriceSource) = PriceOf(catalog, cost.InstanceType, cost.InstanceSize);
                if (cost.PricePerHour != null)
                    cost.EstimatedCost = Math.Round(cost.PricePerHour.Value * (decimal)cost.BilledTime.TotalHours, 4);
            }
            return costs;
        }

        /// <summary>
        /// Fills <see cref="EndpointInfo.PricePerHour"/> (catalog, looked up once per process) and
        /// <see cref="EndpointInfo.BilledSince"/> (the usage history, read once for the batch; without history the
        /// service's last state change) on endpoints this client returned.
        /// </summary>
        public async Task<IReadOnlyList<EndpointInfo>> AddBillingAsync(IReadOnlyList<EndpointInfo> endpoints, CancellationToken ct = default)
        {
            if (endpoints.Count == 0) return endpoints;
            var now = Options.TimeProvider.GetUtcNow();
            var streaks = Options.History == null ? new Dictionary<(string, string), DateTimeOffset?>()
                : UsageHistory.Summarize(Options.History.Read().Where(e => e.Api == _apiBase), DateTimeOffset.MinValue, now)
                    .ToDictionary(c => (c.Namespace, c.Name), c => c.BilledSince);
            var catalogs = new Dictionary<string, IReadOnlyList<HardwareInfo>>();
            foreach (var endpoint in endpoints)
            {
                if (!catalogs.TryGetValue(endpoint.Namespace, out var catalog))
                    catalogs[endpoint.Namespace] = catalog = await TryGetCatalogAsync(endpoint.Namespace, ct).ConfigureAwait(false);
                endpoint.PricePerHour = PriceOf(catalog, endpoint.InstanceType, endpoint.InstanceSize).Price;
                var billing = endpoint.Status == EndpointStatus.Initializing || endpoint.Status == EndpointStatus.Running;
                endpoint.BilledSince = !billing ? null
                    : streaks.TryGetValue((endpoint.Namespace, endpoint.Name), out var since) && since != null ? since : endpoint.UpdatedAt;
            }
            return endpoints;
        }

        private async Task<IReadOnlyList<HardwareInfo>> TryGetCatalogAsync(string ns, CancellationToken ct)
        {
            var key = _apiBase + "|" + ns;
            var lazy = CatalogCache.GetOrAdd(key, _ => new Lazy<Task<IReadOnlyList<HardwareInfo>>>(() => GetHardwareAsync(ns, CancellationToken.None)));
            try
            {
                return await lazy.Value.ConfigureAwait(false);
            }
            catch (EndpointException)
            {
                CatalogCache.TryRemove(key, out _); // not cached: the next call tries again; prices fall back meanwhile
                return Array.Empty<HardwareInfo>();
            }
        }

        private static (decimal? Price, string? Source) PriceOf(IReadOnlyList<HardwareInfo> catalog, string? type, string? size)
        {
            var live = catalog.FirstOrDefault(h => h.PricePerHour != null &&
                string.Equals(h.InstanceType, type, StringComparison.OrdinalIgnoreCase) &&
                string.Equals(h.InstanceSize, size, StringComparison.OrdinalIgnoreCase));
            if (live != null) return (live.PricePerHour, "catalog");
            return ListPrices.TryGetValue(type + " " + size, out var price) ? (price, "built-in list price") : ((decimal?)null, null);
        }
    }
}
