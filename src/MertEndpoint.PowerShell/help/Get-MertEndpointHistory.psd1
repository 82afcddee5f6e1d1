# Help source for Get-MertEndpointHistory; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Synopsis    = 'Gets the usage history: each endpoint''s state changes in order, or its cold starts and their boot times.'
    Description = "Reads the usage history this module keeps (every state change it observes or causes; `$env:MERT_ENDPOINT_HISTORY_PATH overrides its place) and writes it as typed objects. It sends no request and needs no token: it reads the file (after writing into it the readings another process left in the spool as it ended). It shows the endpoints of the control plane `$env:MERT_ENDPOINT_API_URL names (the service's by default), so an emulator's never mix with real ones.`n`nBy default one MertEndpoint.EndpointStateChange per change, in order per endpoint: State and PreviousState, Replicas, Time (when it happened, as well as it is known) between Earliest and Latest, and Source, how it is known: action (this module started, stopped or deleted it, dated by the answer), updatedAt (seen, and dated back by the service's stamp), sighting (seen, dated when first seen: an endpoint's first record, or one an older module wrote), estimate (seen, nothing stamped it: placed in the middle between the last sighting of the state before and the first of the new one, as the cost report's estimate places it; a replica count that changed under load, at its replica's start when known) or unknown (an old history that did not say).`n`nWith -ColdStart, one MertEndpoint.ColdStart per boot: from the resume or create (Started, out of PreviousState paused, scaledToZero or failed; none for a create) to running (Ended; Outcome is running, or the state that ended the boot first, or empty while it boots), with BootTime and its bounds BootTimeLow and BootTimeHigh from the bounds of the two changes. An endpoint seen paused and then already running booted unseen: its cold start has no Started and no BootTime, and bounds of 0 to the window it can have booted in.`n`nThe history knows only what a command of this module saw: a change between two sightings is known to lie between them, and that is what Earliest and Latest say."
    Parameters  = @{
        Name      = 'Only endpoints whose name matches; wildcards are allowed. ''namespace/name'' (the Hub''s form, as Get-MertEndpoint takes it; wildcards in either part) names the namespace too, and must agree with -Namespace. Binds from the pipeline by value and by property name (Get-MertEndpoint output).'
        Namespace = 'Only endpoints of this namespace; wildcards are allowed. Binds by property name. Default: $env:MERT_ENDPOINT_NAMESPACE, else every namespace in the history (the token''s user is not looked up: nothing is sent).'
        Since     = 'Start of the period: changes dated at or after it, cold starts that began at or after it. Default: 30 days before -Until.'
        Until     = 'End of the period. Default: now (everything recorded so far).'
        ColdStart = 'Output the cold starts (MertEndpoint.ColdStart) instead of the state changes.'
    }
    Examples    = @(
        @{ Code = 'Get-MertEndpointHistory mert-embeddings'; Remarks = 'Every state change of the endpoint in the last 30 days, in order, with when and how each is known.' }
        @{ Code = "Get-MertEndpointHistory 'my-lab/mert-*' -Since (Get-Date).AddDays(-7)"; Remarks = 'The last week''s changes of the mert- endpoints of the organization my-lab.' }
        @{ Code = 'Get-MertEndpointHistory mert-embeddings -ColdStart | Measure-Object BootTime -Average -Maximum'; Remarks = 'How long its boots took: each cold start from the resume to running.' }
        @{ Code = "Get-MertEndpoint -Namespace '*' | Get-MertEndpointHistory -ColdStart -Since (Get-Date).Date | Where-Object Outcome -ne running"; Remarks = 'Today''s boots that did not come up (failed, or paused before they were running), in every namespace.' }
    )
    Links = @('Get-MertEndpointCost', 'Get-MertEndpoint', 'Get-MertEndpointReplica')
    # Defaults computed when the command runs (a fresh cmdlet holds none).
    DefaultValues = @{
        Namespace = '$env:MERT_ENDPOINT_NAMESPACE, else every namespace in the history'
        Since = '30 days before -Until'
        Until = 'now'
    }
}
