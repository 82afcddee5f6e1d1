# Help source for the cmdlets. build/New-MamlHelp.ps1 turns it into MAML (en-US/*-Help.xml) and fails the
# build when a cmdlet, a parameter text or an example is missing. Parameter texts in Common apply to every
# cmdlet unless the cmdlet gives its own.
@{
    Common  = @{
        Name        = 'The endpoint name: lowercase letters, digits and hyphens, at most 32 characters. Binds from the pipeline by value (strings) and by property name. Wildcards are accepted only by Get-MertEndpoint.'
        InputObject = 'An endpoint object from Get-MertEndpoint or another MertEndpoint cmdlet; its Name and Namespace are used.'
        Namespace   = 'The user or organization that owns the endpoints. Default: $env:MERT_ENDPOINT_NAMESPACE, else the user of the token (looked up once per session with whoami-v2). Organization tokens must name it.'
        Token       = 'A Hugging Face token as a SecureString, e.g. (Read-Host -AsSecureString). Default: $env:HF_TOKEN, $env:HUGGING_FACE_HUB_TOKEN, then the token file ($env:HF_TOKEN_PATH, $env:HF_HOME/token, ~/.cache/huggingface/token). Never written to any output.'
        TimeoutSec  = 'Seconds to wait for the endpoint to be running and to answer its health route. Default 600.'
        ImageUrl    = 'The custom container image that serves the model, e.g. someone/mert-inference:latest.'
        Repository  = 'The model repository on the Hub. Default m-a-p/MERT-v1-95M.'
        Framework   = 'The model framework. Default pytorch.'
        Task        = 'The task. Default feature-extraction.'
        Revision    = 'The model revision (commit, branch or tag). Default: the service''s default.'
        Port        = 'The port the container listens on. Default 8080.'
        HealthRoute = 'The container''s health route, answered with 200 once the model is loaded. Default /health.'
        Accelerator = 'gpu (default), cpu or neuron.'
        Vendor      = 'The cloud vendor. Default aws.'
        Region      = 'The region. Default us-east-1.'
        InstanceType = 'The instance type, e.g. nvidia-a10g (default), nvidia-t4, nvidia-l4, intel-spr. Get-MertEndpointHardware lists them.'
        InstanceSize = 'The instance size: x1 (default), x2, x4, x8.'
        MinReplica  = 'Minimum replicas. Default 0, so that the service scales to zero when idle.'
        MaxReplica  = 'Maximum replicas. Default 1.'
        ScaleToZeroTimeout = 'Minutes without requests before the service scales the endpoint to zero (only with -MinReplica 0). Default 15.'
        Type        = 'Who may call the endpoint: authenticated (default, needs a token), private or public.'
        Env         = 'Environment variables for the container, as a hashtable.'
        Secret      = 'Secret environment variables for the container, as a hashtable; the service never shows them again.'
        Tag         = 'Tags for the endpoint.'
        ThrottleLimit = 'How many endpoints are worked on at once when many come down the pipeline (default 8). Prompts, progress, output and errors stay on the pipeline thread; results come out in input order.'
        IdleTimeoutMinutes = 'A safety net if this process dies: sets min replicas 0 and the scale-to-zero timeout, so that the service itself stops billing after this many idle minutes. Replica settings that the service resets on resume are restored either way.'
    }
    Cmdlets = @{
        'Get-MertEndpoint'    = @{
            Synopsis    = 'Gets Inference Endpoints: one by name, several by wildcard, or every endpoint in the namespace.'
            Description = "Without -Name it lists the namespace. -Name takes several names and wildcards (a wildcard lists the namespace once and filters). -Status keeps only endpoints in the given states.`n`nThe output is MertEndpoint.EndpointInfo objects; pipe them to Start-, Stop-, Wait- or Remove-MertEndpoint."
            Parameters  = @{
                Name   = 'Names of endpoints; wildcards are allowed. Binds from the pipeline by value and by property name.'
                Namespace = 'The user or organization to list, or * for the token''s user and every organization it belongs to (fetched concurrently; an organization that answers 401 or 403 becomes a warning). Default: $env:MERT_ENDPOINT_NAMESPACE, else the token''s user.'
                Status = 'Only endpoints in one of these states: Running, Paused, ScaledToZero, Pending, Initializing, Updating, Failed, UpdateFailed, Unknown.'
            }
            Examples    = @(
                @{ Code = 'Get-MertEndpoint'; Remarks = 'Lists every endpoint in your namespace with status, instance, replicas and URL.' }
                @{ Code = 'Get-MertEndpoint mert-* -Status Running'; Remarks = 'Endpoints whose name starts with mert- that are running (and billing).' }
                @{ Code = 'Get-MertEndpoint -Status Running | Stop-MertEndpoint'; Remarks = 'Pauses everything that is running.' }
                @{ Code = "Get-MertEndpoint -Namespace '*' -Status Running"; Remarks = 'Everything running in your namespace and in every organization you belong to.' }
            )
        }
        'New-MertEndpoint'    = @{
            Synopsis    = 'Creates an Inference Endpoint with the MERT defaults.'
            Description = "Creates an endpoint: model m-a-p/MERT-v1-95M, task feature-extraction, your custom image on port 8080 with health route /health, aws us-east-1 nvidia-a10g x1, replicas 0-1 with scale-to-zero after 15 idle minutes. Every setting can be changed with a parameter. The name is checked before any request is sent.`n`nThe endpoint starts booting (and billing) at once; the command returns without waiting. Use Wait-MertEndpoint, or Start-MertEndpoint -CreateIfMissing, to wait until it answers."
            Parameters  = @{ Name = 'The name of the new endpoint: lowercase letters, digits and hyphens, at most 32 characters, not starting or ending with a hyphen.' }
            Examples    = @(
                @{ Code = "New-MertEndpoint mert-spike6-inference -ImageUrl 'someone/mert-inference:latest'"; Remarks = 'Creates the MERT endpoint with all defaults.' }
                @{ Code = "New-MertEndpoint t4-test -ImageUrl 'someone/mert-inference:latest' -InstanceType nvidia-t4 -Env @{ LOG_LEVEL = 'debug' } -WhatIf"; Remarks = 'Shows what would be created on a T4, with an environment variable, without creating it.' }
            )
        }
        'Start-MertEndpoint'  = @{
            Synopsis    = 'Starts endpoints and waits until they really answer.'
            Description = "Resumes a paused or scaled-to-zero endpoint, waits for one that is already starting, and only checks the health of one that is running. Ready means: state running, a URL, and the health route answering 200. A progress bar shows the state and the elapsed time. A failed endpoint ends the wait at once with the service's message.`n`nIf a start that this command began fails or times out, the endpoint is paused again (-OnFailure Pause, the default) so that a stuck start does not bill for hours; -OnFailure Leave keeps it booting. Ctrl+C also pauses an endpoint this command resumed.`n`nWith -CreateIfMissing the endpoint is created when it does not exist; New-MertEndpoint's parameters (-ImageUrl, -InstanceType, ...) then become available."
            Parameters  = @{
                NoWait          = 'Return as soon as the service accepted the resume; do not wait for readiness.'
                CreateIfMissing = 'Create the endpoint when it does not exist. Adds New-MertEndpoint''s parameters; -ImageUrl is then required.'
                OnFailure       = 'What to do with an endpoint that this command resumed or created when the start times out or is cancelled: Pause (default) or Leave.'
            }
            Examples    = @(
                @{ Code = 'Start-MertEndpoint mert-spike6-inference'; Remarks = 'Resumes the endpoint and returns it, with its URL, once its health route answers.' }
                @{ Code = "Start-MertEndpoint mert-spike6-inference -CreateIfMissing -ImageUrl 'someone/mert-inference:latest' -TimeoutSec 900"; Remarks = 'Creates the endpoint if needed and waits up to 15 minutes.' }
                @{ Code = "'a', 'b' | Start-MertEndpoint -NoWait"; Remarks = 'Resumes two endpoints without waiting.' }
            )
        }
        'Stop-MertEndpoint'   = @{
            Synopsis    = 'Pauses endpoints (billing stops), or scales them to zero.'
            Description = 'Pauses each endpoint: billing stops, the URL goes away, and it does not count toward GPU quota. With -ScaleToZero the endpoint keeps its URL and wakes on the next request (it does not bill while scaled to zero but still counts toward quota). An endpoint that is already paused costs one read and no write. Nothing is output unless -PassThru.'
            Parameters  = @{
                ScaleToZero = 'Scale to zero instead of pausing.'
                PassThru    = 'Output the endpoint after the change.'
            }
            Examples    = @(
                @{ Code = 'Stop-MertEndpoint mert-spike6-inference'; Remarks = 'Pauses the endpoint.' }
                @{ Code = 'Get-MertEndpoint -Status Running | Stop-MertEndpoint -PassThru'; Remarks = 'Pauses every running endpoint and shows the result.' }
            )
        }
        'Remove-MertEndpoint' = @{
            Synopsis    = 'Deletes endpoints permanently.'
            Description = 'Deletes each endpoint with its configuration, logs and metrics. This cannot be undone: it asks for confirmation unless -Force or -Confirm:$false. -WhatIf deletes nothing, even with -Force. To stop billing without deleting, use Stop-MertEndpoint. Names must be exact; pipe Get-MertEndpoint output to remove several.'
            Parameters  = @{ Force = 'Delete without asking for confirmation. -WhatIf still deletes nothing.' }
            Examples    = @(
                @{ Code = 'Remove-MertEndpoint old-test'; Remarks = 'Asks for confirmation, then deletes the endpoint.' }
                @{ Code = 'Get-MertEndpoint tmp-* | Remove-MertEndpoint -WhatIf'; Remarks = 'Shows which endpoints would be deleted.' }
            )
        }
        'Wait-MertEndpoint'   = @{
            Synopsis    = 'Waits until endpoints are running and answer their health route.'
            Description = 'Uses the same waiter as Start-MertEndpoint but starts nothing: a paused or scaled-to-zero endpoint ends the wait with an EndpointNotReady error instead of waiting forever; a failed one with EndpointFailed; running out of time with WaitTimeout.'
            Examples    = @(
                @{ Code = 'New-MertEndpoint e1 -ImageUrl someone/img:latest | Wait-MertEndpoint -TimeoutSec 900'; Remarks = 'Creates an endpoint and waits until it answers.' }
            )
        }
        'Set-MertEndpoint'    = @{
            Synopsis    = 'Changes settings of endpoints, sending only what was given.'
            Description = 'A partial update: only the parameters you give are sent, so nothing else (environment, image, scaling) is wiped. Changing the image sends the whole image object, filled from the current endpoint. The endpoint goes to updating, then running.'
            Parameters  = @{
                MinReplica = 'Minimum replicas; 0 lets the service scale to zero when idle.'
                MaxReplica = 'Maximum replicas.'
                ScaleToZeroTimeout = 'Idle minutes before the service scales to zero; needs min replicas 0.'
                ImageUrl = 'A new custom container image.'
                Env = 'Environment variables for the container (replaces the set), as a hashtable.'
            }
            Examples    = @(
                @{ Code = 'Set-MertEndpoint mert-spike6-inference -MinReplica 0 -ScaleToZeroTimeout 15'; Remarks = 'Lets the service scale the endpoint to zero after 15 idle minutes.' }
                @{ Code = 'Get-MertEndpoint mert-* | Set-MertEndpoint -MaxReplica 2 -WhatIf'; Remarks = 'Shows the change for every mert- endpoint without making it.' }
            )
        }
        'Use-MertEndpoint'    = @{
            Synopsis    = 'Starts an endpoint, runs a script block with it, and stops it afterwards no matter what.'
            Description = "Starts the endpoint and waits until it answers, runs -ScriptBlock with the ready endpoint as its argument (its URL is also in `$env:HF_ENDPOINT_URL for child processes), writes the block's output, then pauses the endpoint (-AfterAction Pause, the default), scales it to zero or leaves it. The stop happens when the block succeeds, throws or is stopped with Ctrl+C; a start that times out is paused too. If the stop itself fails, the command says so loudly with the command to run.`n`n-KeepIfRunning leaves running an endpoint that was already running before the command (shared endpoints). -IdleTimeoutMinutes is a safety net if this process dies: the service itself scales to zero after that many idle minutes."
            Parameters  = @{
                ScriptBlock = 'The work. It receives the ready endpoint as its first argument.'
                AfterAction = 'What to do afterwards: Pause (default), ScaleToZero or Leave.'
                KeepIfRunning = 'Leave the endpoint running afterwards if it was already running before this command.'
            }
            Examples    = @(
                @{ Code = 'Use-MertEndpoint mert-spike6-inference { param($e) python embed.py --url $e.Url }'; Remarks = 'Starts the endpoint, runs the job, and pauses the endpoint afterwards, also on error or Ctrl+C.' }
                @{ Code = 'Use-MertEndpoint shared-gpu -KeepIfRunning -IdleTimeoutMinutes 10 { param($e) ./run.ps1 $e.Url }'; Remarks = 'Uses a shared endpoint, leaves it running if it already was, and lets the service scale it to zero after 10 idle minutes if this process dies.' }
            )
        }
        'Get-MertEndpointHardware' = @{
            Synopsis    = 'Lists the hardware your namespace can use, with price per hour and GPU quota.'
            Description = 'Reads the provider catalog (GET /provider/{namespace}): vendor, region, instance type and size, accelerator, memory, status, price per replica-hour in USD, and accelerator quota. All filters accept wildcards.'
            Parameters  = @{
                Vendor = 'Only this vendor, e.g. aws.'
                Region = 'Only this region, e.g. us-east-1.'
                InstanceType = 'Only this instance type, e.g. nvidia-*.'
                Accelerator = 'Only this accelerator: gpu, cpu or neuron.'
            }
            Examples    = @(
                @{ Code = 'Get-MertEndpointHardware nvidia-* -Region us-east-1 | Sort-Object PricePerHour'; Remarks = 'GPU instances in us-east-1, cheapest first.' }
            )
        }
    }
}
