# Help source for Get-MertEndpoint; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Description = "Without -Name it lists the namespace. -Name takes several names and wildcards (a wildcard lists the namespace once and filters). -Status keeps only endpoints in the given states.`n`nThe output is MertEndpoint.EndpointInfo objects; pipe them to Start-, Stop-, Wait- or Remove-MertEndpoint."
    Examples = @(
        @{
            Code = 'Get-MertEndpoint -Namespace ''*'' -BilledLongerThan 02:00:00 | Stop-MertEndpoint -PassThru'
            Remarks = 'The guard: pauses every endpoint that has billed for more than two hours, in all your namespaces.'
        }
        @{
            Code = 'Get-MertEndpoint'
            Remarks = 'Lists every endpoint in your namespace with status, instance, replicas and URL.'
        }
        @{
            Code = 'Get-MertEndpoint mert-* -Status Running'
            Remarks = 'Endpoints whose name starts with mert- that are running (and billing).'
        }
        @{
            Code = 'Get-MertEndpoint -Status Running | Stop-MertEndpoint'
            Remarks = 'Pauses everything that is running.'
        }
        @{
            Code = 'Get-MertEndpoint -Namespace ''*'' -Status Running'
            Remarks = 'Everything running in your namespace and in every organization you belong to.'
        }
    )
    Parameters = @{
        BilledLongerThan = 'Only endpoints that have been billing (initializing, running or updating) for longer than this: a TimeSpan, a TimeSpan string such as 02:00:00, or seconds (7200, ''7200''). The start of billing comes from this module''s own start, its sightings in the usage history, or (for an endpoint not yet proven over the limit that way) the oldest replica''s start, read from the service''s replica list; the result carries BilledForAtLeast, BilledSinceLatest and BilledSinceSource. An endpoint whose long streak rests only on the service''s updatedAt or createdAt is still listed, with BilledSinceSource saying so. This is the scheduled guard: pipe the result to Stop-MertEndpoint.'
        Name = 'Names of endpoints; wildcards are allowed. Binds from the pipeline by value and by property name.'
        Namespace = 'The user or organization to list, or * for the token''s user and every organization it belongs to (fetched concurrently; an organization that answers 401 becomes a warning; a 403 or an unreadable listing is an error naming the namespace). Default: $env:MERT_ENDPOINT_NAMESPACE, else the user of the token.'
        Status = 'Only endpoints in one of these states: Running, Paused, ScaledToZero, Pending, Initializing, Updating, Failed, UpdateFailed, Unknown.'
    }
    Links = @('Start-MertEndpoint', 'Stop-MertEndpoint', 'Get-MertEndpointCost')
    Synopsis = 'Gets Inference Endpoints: one by name, several by wildcard, or every endpoint in the namespace.'
}
