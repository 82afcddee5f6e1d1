# Help source for Get-MertEndpointMetric; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Synopsis    = 'Gets the metrics of an endpoint (requests, latency, error rates, CPU and GPU use) over a period.'
    Description = "Asks the service for each metric (POST .../metrics/<metric> with from, to and step) and writes one MertEndpoint.MetricPoint per step: Metric, Time (the start of the step), Value, Namespace, Name. Latencies are milliseconds, rates and usages percentages, request-count a count per step.`n`n-Summary writes one MertEndpoint.MetricSummary per metric instead: Total (the sum of the steps: for request-count, the requests of the period), Average, Minimum, P50, P95 and Maximum of the step values.`n`nThe service does not document the answer's shape. A list of {timestamp, value} points and columns {timestamps, values} are read; any other shape is written raw (the Raw property) with a warning, never as an empty result."
    Parameters  = @{
        Metric  = 'The metrics to read. Default: request-count, median-latency, p95-latency, success-rate. Others: average-latency, success-throughput, bad-request-throughput, server-error-throughput, bad-request-rate, server-error-rate, cpu-usage, memory-usage, gpu-usage, gpu-memory-usage (tab completes them).'
        Since   = 'Start of the period. Default: one hour before -Until.'
        Until   = 'End of the period. Default: now.'
        Step    = 'The length of one point: a number and s, m, h or d (30s, 1m, 1h). Default: the smallest of 1m, 5m, 15m, 1h, 6h and 1d that gives at most 1,000 points.'
        Summary = 'One summary per metric (total, average, percentiles) instead of the points.'
    }
    Examples    = @(
        @{ Code = 'Get-MertEndpointMetric mert-embeddings -Metric request-count -Since (Get-Date).AddHours(-6) -Summary'; Remarks = 'How many requests the endpoint answered in the last six hours (Total).' }
        @{ Code = 'Get-MertEndpointMetric mert-embeddings -Metric p95-latency,gpu-usage -Step 5m'; Remarks = 'The 95th-percentile latency and GPU use of the last hour, in 5-minute steps.' }
    )
    Links = @('Get-MertEndpointCost', 'Get-MertEndpointLog', 'Invoke-MertEndpoint')
    # Defaults computed when the command runs (a fresh cmdlet holds none).
    DefaultValues = @{
        Since = 'one hour before -Until'
        Until = 'now'
        Step = 'the smallest of 1m, 5m, 15m, 1h, 6h and 1d that gives at most 1,000 points'
    }
}
