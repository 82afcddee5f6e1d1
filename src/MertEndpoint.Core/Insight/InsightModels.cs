using System;
using System.Collections.Generic;
using System.Globalization;

namespace MertEndpoint
{
    /// <summary>Which log lines to read. Input only.</summary>
    public sealed class LogQuery
    {
        /// <summary>The last N lines (of those the other filters select); null for all of them.</summary>
        public int? Tail { get; set; }
        public DateTimeOffset? Since { get; set; }
        public DateTimeOffset? Until { get; set; }
        /// <summary>One replica's lines only (an id from <see cref="EndpointClient.GetReplicasAsync"/>).</summary>
        public string? Replica { get; set; }
        /// <summary>Keep streaming new lines until the endpoint stops (or the caller cancels).</summary>
        public bool Follow { get; set; }
    }

    /// <summary>One line of an endpoint's logs: the service's <c>- &lt;RFC 3339 time&gt; &lt;line&gt;</c>.</summary>
    public sealed class EndpointLogLine
    {
        internal EndpointLogLine(string ns, string name, string? replica, DateTimeOffset? time, string message)
        {
            Namespace = ns;
            Name = name;
            Replica = replica;
            Time = time;
            Message = message;
        }

        public string Namespace { get; }
        public string Name { get; }
        /// <summary>The replica it came from, when the read asked for one replica (the text format does not say).</summary>
        public string? Replica { get; }
        /// <summary>The service's timestamp; null for a line that had none.</summary>
        public DateTimeOffset? Time { get; }
        /// <summary>The container's own line.</summary>
        public string Message { get; }

        /// <summary>The message, so that <c>| Select-String</c> and <c>Out-String</c> match what the container printed.</summary>
        public override string ToString() => Message;
    }

    /// <summary>One replica of an endpoint (<c>GET .../replica</c>).</summary>
    public sealed class EndpointReplica
    {
        public string Namespace { get; internal set; } = "";
        /// <summary>The endpoint's name (so the object pipes into Get-MertEndpointLog with its Replica).</summary>
        public string Name { get; internal set; } = "";
        /// <summary>The replica's id.</summary>
        public string Replica { get; internal set; } = "";
        /// <summary>As the service says it: pending, initializing, running, failed, ...</summary>
        public string State { get; internal set; } = "";
        public DateTimeOffset? StartedAt { get; internal set; }
        public DateTimeOffset? ReadyAt { get; internal set; }
        public DateTimeOffset? FailedAt { get; internal set; }
        public override string ToString() => Replica;
    }

    /// <summary>One value of a metric at one time (the start of its step).</summary>
    public sealed class MetricPoint
    {
        public string Namespace { get; internal set; } = "";
        public string Name { get; internal set; } = "";
        public string Metric { get; internal set; } = "";
        /// <summary>Null only when the answer's shape was not understood (then <see cref="Raw"/> holds it).</summary>
        public DateTimeOffset? Time { get; internal set; }
        /// <summary>Null for a step without data (a latency with no requests, say).</summary>
        public double? Value { get; internal set; }
        /// <summary>The JSON of this point when the answer's shape was not understood; null otherwise.</summary>
        public string? Raw { get; internal set; }
        public override string ToString() =>
            Raw ?? $"{Metric} {Time?.ToString("u", CultureInfo.InvariantCulture)} {Value?.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>A metric over a period: its total (counts only) and the spread of its step values.</summary>
    public sealed class MetricSummary
    {
        public string Namespace { get; internal set; } = "";
        public string Name { get; internal set; } = "";
        public string Metric { get; internal set; } = "";
        public DateTimeOffset Since { get; internal set; }
        public DateTimeOffset Until { get; internal set; }
        /// <summary>Steps in the answer, and how many of them had a value.</summary>
        public int Points { get; internal set; }
        public int PointsWithValue { get; internal set; }
        /// <summary>
        /// The sum of the step values, for a count only (request-count: the requests of the period); null for rates,
        /// throughputs, latencies and usages, whose sum means nothing (see <see cref="MetricReader.IsCount"/>).
        /// </summary>
        public double? Total { get; internal set; }
        public double? Average { get; internal set; }
        public double? Minimum { get; internal set; }
        /// <summary>Nearest-rank percentiles of the step values.</summary>
        public double? P50 { get; internal set; }
        public double? P95 { get; internal set; }
        public double? Maximum { get; internal set; }
        public override string ToString() => $"{Name} {Metric}";
    }

    /// <summary>The metrics of an answer, and whether its shape was understood.</summary>
    public sealed class MetricSeries
    {
        internal MetricSeries(IReadOnlyList<MetricPoint> points, bool understood)
        {
            Points = points;
            Understood = understood;
        }

        public IReadOnlyList<MetricPoint> Points { get; }
        /// <summary>False: the points are the raw answer (see <see cref="MetricPoint.Raw"/>).</summary>
        public bool Understood { get; }
    }
}
