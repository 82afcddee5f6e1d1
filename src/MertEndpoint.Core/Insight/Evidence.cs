using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>What a failure brings with it, and how replica lists are read.</summary>
    internal static class Evidence
    {
        public const int FailureLines = 20;
        // The logs are extra: they must not hold up the error for long.
        private static readonly TimeSpan Budget = TimeSpan.FromSeconds(15);

        /// <summary>
        /// Attaches the endpoint's last <see cref="FailureLines"/> log lines to a failed-state error (whichever logs the
        /// service keeps for a failed endpoint: container or build lines). Never throws for the logs' sake.
        /// </summary>
        public static async Task<EndpointException> AttachLogsAsync(EndpointClient client, EndpointException ex, CancellationToken ct)
        {
            if (ex.Kind != EndpointErrorKind.EndpointFailed || ex.Target?.Namespace is not string ns || ex.Target.Name is not string name)
                return ex;
            using CancellationTokenSource budget = client.TimeProvider.CreateCancellationTokenSource(Budget);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, budget.Token);
            try
            {
                ex.LogTail = await client.GetLogsAsync(ns, name, FailureLines, linked.Token).ConfigureAwait(false);
            }
            catch (EndpointException logs)
            {
                ex.LogTailProblem = logs.Message;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                ex.LogTailProblem = $"no answer within {Errors.Duration(Budget)}";
            }
            return ex;
        }

        /// <summary><c>{"items": [{id, state, startedAt, ...}]}</c>, a bare list, or <c>{"replicas": [...]}</c>.</summary>
        public static IReadOnlyList<EndpointReplica> ToReplicas(JsonElement e, string ns, string name)
        {
            IEnumerable<JsonElement> items = e.ValueKind == JsonValueKind.Array ? e.EnumerateArray()
                : e.Arr("items") ?? e.Arr("replicas") ?? Enumerable.Empty<JsonElement>();
            return items.Where(r => r.ValueKind == JsonValueKind.Object).Select(r => new EndpointReplica
            {
                Namespace = ns,
                Name = name,
                Replica = r.Str("id") ?? r.Str("name") ?? "",
                State = r.Str("state") ?? r.Str("status") ?? "",
                StartedAt = Time(r.Str("startedAt") ?? r.Str("started") ?? r.Str("createdAt")),
                ReadyAt = Time(r.Str("readyAt")),
                FailedAt = Time(r.Str("failedAt")),
            }).ToArray();
        }

        private static DateTimeOffset? Time(string? text) => Json.Timestamp(text) is var t && t != DateTimeOffset.MinValue ? t : null;
    }
}
