using System.Text.Json.Nodes;

namespace MertEndpoint.Emulator;

/// <summary>An endpoint's running bill. Accrual is exact to the tick (the service bills per minute;
/// exact seconds make the emulator's figures checkable against a client's own arithmetic).</summary>
sealed class Meter
{
    public double BilledSeconds { get; set; }
    public double Cost { get; set; }
    public DateTimeOffset BilledUntil { get; set; }
}

static class Billing
{
    /// <summary>Initializing and running, per replica: the service's own description of its meter (hf-endpoints-api.md, "Billing").</summary>
    public static bool IsBilled(string state) => state is EndpointState.Initializing or EndpointState.Running;

    /// <summary>Bills the time since the last accrual at the endpoint's current state, replicas and price.
    /// Callers accrue before every state or spec change, so each span is billed at the right rate.</summary>
    public static void Accrue(EndpointRecord e, DateTimeOffset until)
    {
        if (until <= e.Meter.BilledUntil) return;
        if (IsBilled(e.State))
        {
            var replicaSeconds = (until - e.Meter.BilledUntil).TotalSeconds * e.BilledReplicas;
            e.Meter.BilledSeconds += replicaSeconds;
            e.Meter.Cost += replicaSeconds / 3600 * (e.Spec.Compute?.PricePerHour ?? 0);
        }
        e.Meter.BilledUntil = until;
    }

    /// <summary>The <c>GET /_emulator/billing</c> document. Deleted endpoints stay listed (a bill does not
    /// disappear on delete) with <c>deleted: true</c>, which also tells apart a re-created namesake.</summary>
    public static JsonObject Report(IEnumerable<EndpointRecord> records) => new()
    {
        ["endpoints"] = new JsonArray(records.Select(e => (JsonNode)new JsonObject
        {
            ["namespace"] = e.Namespace,
            ["name"] = e.Spec.Name,
            ["billedSeconds"] = Math.Round(e.Meter.BilledSeconds, 3),
            ["pricePerHour"] = e.Spec.Compute?.PricePerHour ?? 0,
            ["cost"] = Math.Round(e.Meter.Cost, 6),
            ["deleted"] = e.Deleted,
        }).ToArray()),
    };
}
