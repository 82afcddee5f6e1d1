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
        /// <summary>
        /// Fills <see cref="EndpointCost.Requests"/> and <see cref="EndpointCost.CostPer1000Requests"/> where the metrics
        /// answer. Returns what could not be filled, as warnings: a namespace whose metrics are refused leaves every row
        /// empty (one warning, no error); an endpoint that no longer exists has no metrics and is left empty quietly.
        /// </summary>
        public static async Task<IReadOnlyList<string>> AddAsync(EndpointClient client, IReadOnlyList<EndpointCost> costs, CancellationToken ct = default)
        {
            var warnings = new List<string>();
            foreach (EndpointCost cost in costs)
            {
                MetricSeries series;
                try
                {
                    series = await client.GetMetricAsync(cost.Namespace, cost.Name, "request-count", cost.Since, cost.Until,
                        MetricReader.DefaultStep(cost.Until - cost.Since), ct).ConfigureAwait(false);
                }
                catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.EndpointNotFound)
                {
                    continue; // deleted: its requests are gone with it
                }
                catch (EndpointException ex) when (ex.Kind is EndpointErrorKind.Forbidden or EndpointErrorKind.Unauthorized)
                {
                    warnings.Add(Errors.RequestsUnavailable(cost.Namespace, ex));
                    break; // the same answer for every endpoint of the namespace
                }
                catch (EndpointException ex)
                {
                    warnings.Add(Errors.RequestsUnavailable(cost.Namespace, ex));
                    continue;
                }
                if (!series.Understood)
                {
                    warnings.Add(Errors.MetricShapeUnknown(new EndpointId(cost.Namespace, cost.Name), "request-count"));
                    continue;
                }
                cost.Requests = (long)Math.Round(series.Points.Sum(p => p.Value ?? 0));
                if (cost.Requests > 0 && cost.EstimatedCost is decimal spent)
                    cost.CostPer1000Requests = Math.Round(spent * 1000m / cost.Requests.Value, 6);
            }
            return warnings.Distinct().ToList();
        }
    }
}
