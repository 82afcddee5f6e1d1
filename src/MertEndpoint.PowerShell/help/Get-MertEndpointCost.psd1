# Help source for Get-MertEndpointCost; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Synopsis    = 'Reports billed time and estimated spend per endpoint over a period.'
    Description = "The module appends every state change it observes or causes (start, stop, status checks, waits) to a usage history: an append-only file in your data directory (`$env:MERT_ENDPOINT_HISTORY_PATH overrides it; it never holds the token). This command lists the namespace first, so the current state is recorded, then adds up the time each endpoint spent initializing, running or updating, per replica, between -Since and -Until, and prices it from the live catalog (a built-in list price is the fallback and PriceSource says so).`n`nThe figure is an estimate: time in which nothing this module ran saw the endpoint is counted from the last state it saw. An endpoint still billing counts up to -Until."
    Parameters  = @{
        Name  = 'Only endpoints whose name matches; wildcards are allowed.'
        Since = 'Start of the period. Default: 30 days before -Until.'
        Until = 'End of the period. Default: now.'
    }
    Examples    = @(
        @{ Code = 'Get-MertEndpointCost'; Remarks = 'Billed time and estimated spend of every endpoint in the last 30 days.' }
        @{ Code = "Get-MertEndpointCost mert-* -Since (Get-Date).Date | Measure-Object EstimatedCost -Sum"; Remarks = 'What the mert- endpoints cost today.' }
        @{ Code = 'Get-MertEndpointCost | Select-Object Name, EstimatedCost, ColdStarts, MedianBootTime'; Remarks = 'The spend of each endpoint beside how often it booted in the period and how long a boot took (the median; the details: Get-MertEndpointHistory -ColdStart).' }
    )
    Links = @('Get-MertEndpoint', 'Get-MertEndpointHardware')
    # Defaults computed when the command runs (a fresh cmdlet holds none).
    DefaultValues = @{
        Since = '30 days before -Until'
        Until = 'now'
    }
}
