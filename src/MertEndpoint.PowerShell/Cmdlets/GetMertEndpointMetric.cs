using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>
    /// An endpoint's metrics over a period: typed points (one per step), or with -Summary the total (counts only) and the
    /// spread of each metric. An answer in a shape this version does not know comes back raw, with a warning.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "MertEndpointMetric", DefaultParameterSetName = ByName)]
    [OutputType(typeof(MetricPoint), typeof(MetricSummary))]
    public sealed class GetMertEndpointMetric : EndpointTargetCmdlet
    {
        /// <summary>Metric names (the service's own, e.g. request-count, p95-latency, gpu-usage).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(MetricNameCompleter))]
        public string[] Metric { get; set; } = { "request-count", "median-latency", "p95-latency", "success-rate" };

        /// <summary>Start of the period (default: one hour before -Until).</summary>
        [Parameter]
        public DateTime? Since { get; set; }

        /// <summary>End of the period (default: now).</summary>
        [Parameter]
        public DateTime? Until { get; set; }

        /// <summary>One point per step: '30s', '1m', '5m', '1h', '1d' (default: the smallest of 1m, 5m, 15m, 1h, 6h, 1d giving at most 1,000 points).</summary>
        [Parameter]
        [ValidatePattern("^[1-9][0-9]{0,6}[smhd]$")]
        public string? Step { get; set; }

        /// <summary>One summary per metric (total of a count, average, minimum, percentiles, maximum of the step values) instead of the points.</summary>
        [Parameter]
        public SwitchParameter Summary { get; set; }

        protected override void ProcessRecord()
        {
            if (!TryPeriod(Since, Until, System.TimeSpan.FromHours(1), out DateTimeOffset since, out DateTimeOffset until)) return;
            var step = Step ?? MetricReader.DefaultStep(until - since);
            foreach (var target in Targets())
            {
                foreach (var metric in Metric)
                {
                    try
                    {
                        var series = Await(Client.GetMetricAsync(target.Namespace!, target.Name!, metric, since, until, step, StopToken));
                        if (!series.Understood) WriteWarning(Errors.MetricShapeUnknown(target, metric));
                        if (Summary && series.Understood)
                            WriteObject(MetricReader.Summarize(target.Namespace!, target.Name!, metric, since, until, series.Points));
                        else if (series.Understood)
                            WriteObject(series.Points, enumerateCollection: true);
                        else
                            foreach (var point in series.Points) WriteObject(RawPoint(point));
                    }
                    catch (EndpointException ex)
                    {
                        WriteEndpointError(ex, target);
                    }
                }
            }
        }

        /// <summary>
        /// A point of an answer not understood: its view shows the Raw JSON, which understood points never have, so their
        /// table carries no column that is always empty.
        /// </summary>
        private static PSObject RawPoint(MetricPoint point)
        {
            var wrapped = PSObject.AsPSObject(point);
            wrapped.TypeNames.Insert(0, RawPointTypeName);
            return wrapped;
        }

        /// <summary>The type name the format file's view of raw points is selected by.</summary>
        internal const string RawPointTypeName = "MertEndpoint.MetricPoint#Raw";
    }

    /// <summary>Completes -Metric with the metric names the service describes.</summary>
    public sealed class MetricNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var pattern = new WildcardPattern((wordToComplete ?? string.Empty).Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
            return MetricReader.Known.Where(pattern.IsMatch).Select(m => new CompletionResult(m, m, CompletionResultType.ParameterValue, m));
        }
    }
}
