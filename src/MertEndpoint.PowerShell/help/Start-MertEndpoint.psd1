# Help source for Start-MertEndpoint; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Description = "Resumes a paused or scaled-to-zero endpoint, waits for one that is already starting, and only checks the health of one that is running. Ready means: state running, a URL, and the health route answering 200. A progress bar shows the state and the elapsed time. A failed endpoint ends the wait at once with the service's message.`n`nIf a start that this command began fails or times out, the endpoint is paused again (-OnFailure Pause, the default) so that a stuck start does not bill for hours; -OnFailure Leave keeps it booting. Ctrl+C also pauses an endpoint this command resumed.`n`nWith -CreateIfMissing the endpoint is created when it does not exist; New-MertEndpoint's parameters (-ImageUrl, -InstanceType, ...) then become available.`n`n-WhatIf and -Confirm name the endpoint's hardware and its price per hour (one read, made only when a question is asked)."
    Examples = @(
        @{
            Code = 'Start-MertEndpoint mert-spike6-inference'
            Remarks = 'Resumes the endpoint and returns it, with its URL, once its health route answers.'
        }
        @{
            Code = 'Start-MertEndpoint mert-spike6-inference -CreateIfMissing -ImageUrl ''someone/mert-inference:latest'' -Timeout 00:15:00'
            Remarks = 'Creates the endpoint if needed and waits up to 15 minutes.'
        }
        @{
            Code = 'Start-MertEndpoint mert-spike6-inference -IdleTimeout 00:15:00'
            Remarks = 'Starts the endpoint with a service-side idle timeout: it scales to zero after 15 idle minutes even if nobody stops it. Without one, Start-MertEndpoint warns that the endpoint bills until something stops it.'
        }
        @{
            Code = '''a'', ''b'' | Start-MertEndpoint -NoWait'
            Remarks = 'Resumes two endpoints without waiting.'
        }
    )
    Parameters = @{
        CreateIfMissing = 'Create the endpoint when it does not exist. Adds New-MertEndpoint''s parameters, all optional: without -ImageUrl the service deploys its default container for the task.'
        NoWait = 'Return as soon as the service accepted the resume; do not wait for readiness.'
        OwedPauseTimeout = 'How long the pause owed after a failed or cancelled start keeps trying through rate limiting (429, honouring Retry-After in full), 5xx answers and dropped connections: a TimeSpan (00:15:00), or seconds as a number or a string (900, ''900'') (default {default}; the old name -OwedPauseTimeoutSec takes seconds). If it still fails, the error EndpointStillBilling names the endpoint and the command that stops it. A second Ctrl+C gives it up.'
        OnFailure = 'What to do with an endpoint that this command resumed or created when the start times out or is cancelled: Pause (default) or Leave.'
    }
    Synopsis = 'Starts endpoints and waits until they really answer.'
    Links = @('Stop-MertEndpoint', 'Wait-MertEndpoint', 'Use-MertEndpoint', 'New-MertEndpoint')
    # Defaults of the -CreateIfMissing parameters that are not a plain property value (as in New-MertEndpoint.psd1).
    DefaultValues = @{
        Revision = 'the service''s default'
        Task = 'feature-extraction for the {MertDefaults.Repository} repository'
    }
    DynamicNote = '(Available with -CreateIfMissing, for the endpoint created when it does not exist.)'
}
