# Help source for Wait-MertEndpoint; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Description = 'Uses the same waiter as Start-MertEndpoint but starts nothing: a paused or scaled-to-zero endpoint ends the wait with an EndpointNotReady error instead of waiting forever; a failed one with EndpointFailed; running out of time with WaitTimeout.'
    Examples = @(
        @{
            Code = 'New-MertEndpoint e1 -ImageUrl someone/img:latest | Wait-MertEndpoint -Timeout 900'
            Remarks = 'Creates an endpoint and waits up to 15 minutes (900 seconds) until it answers.'
        }
    )
    Synopsis = 'Waits until endpoints are running and answer their health route.'
    Links = @('Start-MertEndpoint', 'Get-MertEndpoint')
}
