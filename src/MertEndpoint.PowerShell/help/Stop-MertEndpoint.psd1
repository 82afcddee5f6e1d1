# Help source for Stop-MertEndpoint; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Description = 'Pauses each endpoint: billing stops, the URL goes away, and it does not count toward GPU quota. With -ScaleToZero the endpoint keeps its URL and wakes on the next request (it does not bill while scaled to zero but still counts toward quota). An endpoint that is already paused costs one read and no write. Nothing is output unless -PassThru.'
    Examples = @(
        @{
            Code = 'Stop-MertEndpoint mert-spike6-inference'
            Remarks = 'Pauses the endpoint.'
        }
        @{
            Code = 'Get-MertEndpoint -Status Running | Stop-MertEndpoint -PassThru'
            Remarks = 'Pauses every running endpoint and shows the result.'
        }
    )
    Parameters = @{
        PassThru = 'Output the endpoint after the change.'
        ScaleToZero = 'Scale to zero instead of pausing.'
    }
    Synopsis = 'Pauses endpoints (billing stops), or scales them to zero.'
    Links = @('Start-MertEndpoint', 'Get-MertEndpoint', 'Get-MertEndpointCost')
    OutputsNote = 'Only with -PassThru; otherwise nothing.'
}
