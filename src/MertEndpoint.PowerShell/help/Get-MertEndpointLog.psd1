# Help source for Get-MertEndpointLog; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Synopsis    = 'Gets the logs of an endpoint as typed lines, or follows them as they are written.'
    Description = "Reads the endpoint's logs from the service (GET .../logs, one '- <time> <line>' per line) and writes one MertEndpoint.EndpointLogLine per line, with Time, Replica, Message, Namespace and Name. A line's ToString() is its message, so | Select-String error finds what the container printed.`n`nBy default the last 50 lines (what the service's web UI shows); with -Since or -Until, every line of the period unless -Tail is given too.`n`n-Follow keeps writing new lines until the endpoint stops (paused, scaled to zero, failed, deleted) or Ctrl+C. A dropped stream is resumed from the last line seen, without repeating or skipping lines; the reconnection shows in the progress bar and in -Verbose.`n`nWhen Start-MertEndpoint or Wait-MertEndpoint ends on a failed endpoint, its error already shows the last 20 lines."
    Parameters  = @{
        Tail    = 'The last N lines. Default 50; with -Since or -Until and no -Tail, every line of the period.'
        Since   = 'Only lines written at or after this time.'
        Until   = 'Only lines written up to this time (not with -Follow).'
        Replica = 'Only the lines of this replica (an id from Get-MertEndpointReplica). Binds by property name, so Get-MertEndpointReplica x | Get-MertEndpointLog works.'
        Follow  = 'Keep writing new lines until the endpoint stops or Ctrl+C. A dropped stream is resumed after the last line seen.'
    }
    Examples    = @(
        @{ Code = 'Get-MertEndpointLog mert-embeddings -Tail 20'; Remarks = 'The last 20 lines.' }
        @{ Code = 'Get-MertEndpointLog mert-embeddings -Since (Get-Date).AddHours(-1) | Select-String Traceback, Error'; Remarks = 'The lines of the last hour that mention a traceback or an error.' }
        @{ Code = 'Get-MertEndpointLog mert-embeddings -Follow'; Remarks = 'Writes new lines as the endpoint writes them, until it is paused or Ctrl+C.' }
        @{ Code = 'Get-MertEndpointReplica mert-embeddings | Get-MertEndpointLog -Tail 5'; Remarks = 'The last 5 lines of each replica.' }
    )
    Links = @('Get-MertEndpointReplica', 'Get-MertEndpointMetric', 'Start-MertEndpoint')
}
