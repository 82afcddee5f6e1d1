using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>Requests and cost per 1,000 requests for cost rows, from the service's request-count metric.</summary>
    public static class RequestCounts
    {
        // The control plane is rate limited: a namespace of many endpoints is asked a few at a time.
        private const int AtOnce = 8;

        /// <summary>
        /// Fills <see cref="EndpointCost.Requests"/> and <see cref="EndpointCost.CostPer1000Requests"/> where the metrics
        /// answer. Returns what could not be filled, as warnings: a namespace whose metrics are refused leaves every row
        /// empty (one warning, no error); an endpoint that no longer exists has no metrics and is left empty quietly.
        /// </summary>
        public static async Task<IReadOnlyList<string>> AddAsync(EndpointClient client, IReadOnlyList<EndpointCost> costs, CancellationToken ct = default)
        {
            if (costs.Count == 0) return Array.Empty<string>();
            // The first answer tells whether the namespace may read metrics at all; the rest then run side by side.
            (string? first, bool refused) = await AddOneAsync(client, costs[0], ct).ConfigureAwait(false);
            if (refused) return new[] { first! };
            using var gate = new SemaphoreSlim(AtOnce);
            var rest = await Task.WhenAll(costs.Skip(1).Select(async cost =>
            {
                await gate.WaitAsync(ct).ConfigureAwait(false);
                try { return (await AddOneAsync(client, cost, ct).ConfigureAwait(false)).Warning; }
                finally { gate.Release(); }
            })).ConfigureAwait(false);
            return new[] { first }.Concat(rest).Where(w => w != null).Select(w => w!).Distinct().ToList();
        }

        /// <summary>Fills one row; returns a warning or null, and whether the metrics were refused (401/403).</summary>
        private static async Task<(string? Warning, bool Refused)> AddOneAsync(EndpointClient client, EndpointCost cost, CancellationToken ct)
        {
            MetricSeries series;
            try
            {
                series = await client.GetMetricAsync(cost.Namespace, cost.Name, "request-count", cost.Since, cost.Until,
                    MetricReader.DefaultStep(cost.Until - cost.Since), ct).ConfigureAwait(false);
            }
            catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.EndpointNotFound)
            {
                return (null, false); // deleted: its requests are gone with it
            }
            catch (EndpointException ex)
            {
                return (Errors.RequestsUnavailable(cost.Namespace, ex), ex.Kind is EndpointErrorKind.Forbidden or EndpointErrorKind.Unauthorized);
            }
            if (!series.Understood) return (Errors.MetricShapeUnknown(new EndpointId(cost.Namespace, cost.Name), "request-count"), false);
            cost.Requests = (long)Math.Round(series.Points.Sum(p => p.Value ?? 0));
            if (cost.Requests > 0 && cost.EstimatedCost is decimal spent)
                cost.CostPer1000Requests = Math.Round(spent * 1000m / cost.Requests.Value, 6);
            return (null, false);
        }
    }
}
