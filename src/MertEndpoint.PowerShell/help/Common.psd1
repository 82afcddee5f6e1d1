# Parameter texts shared by every cmdlet unless its own help file gives one.
@{
    Accelerator = 'The accelerator: gpu, cpu or neuron. Default {default}.'
    Env = 'Environment variables for the container, as a hashtable.'
    Framework = 'The model framework. Default {default}.'
    HealthRoute = 'The container''s health route, answered with 200 once the model is loaded. Default {default}.'
    IdleTimeout = 'A safety net if this process dies: sets min replicas 0 and the scale-to-zero timeout, so that the service itself stops billing after this long without requests. A duration in whole minutes: a TimeSpan (00:15:00), or seconds as a number or a string (900, ''900''). With -CreateIfMissing it is also the new endpoint''s idle timeout ({MertDefaults.ScaleToZeroTimeout} minutes when not given). Replica settings that the service resets on resume are restored either way. The old name -IdleTimeoutMinutes (minutes) still works.'
    ImageUrl = 'The container image that serves the model, e.g. someone/mert-inference:latest (a custom container unless -Container says otherwise). Without it, the service deploys its default container for the task.'
    Container = 'The kind of container: custom (the default with -ImageUrl), huggingface (the default without: the service''s own container for the task), tgi, tei, vLLM, llamacpp or sGLang. -Port and -HealthRoute describe a custom container; other kinds get -ImageUrl only, when given.'
    RegistryCredential = 'User name and password of the private registry that holds a custom image (Get-Credential). The password is sent to the service and never written to any output; the service never returns it.'
    InputObject = 'An endpoint object from Get-MertEndpoint or another MertEndpoint cmdlet; its Name and Namespace are used.'
    InstanceSize = 'The instance size: x1, x2, x4, x8. Default {default}.'
    InstanceType = 'The instance type, e.g. nvidia-a10g, nvidia-t4, nvidia-l4, intel-spr. Default {default}. Get-MertEndpointHardware lists them.'
    MaxReplica = 'Maximum replicas. Default {default}.'
    MinReplica = 'Minimum replicas. Default {default}, so that the service scales to zero when idle.'
    Name = 'The endpoint name: lowercase letters, digits and hyphens, at most 32 characters. Binds from the pipeline by value (strings) and by property name. Wildcards are accepted only by Get-MertEndpoint.'
    Namespace = 'The user or organization that owns the endpoints. Default: $env:MERT_ENDPOINT_NAMESPACE, else the user of the token (looked up once per session with whoami-v2). Organization tokens must name it.'
    Port = 'The port the container listens on. Default {default}.'
    Region = 'The region. Default {default}.'
    Repository = 'The model repository on the Hub. Default {default}.'
    Revision = 'The model revision (commit, branch or tag). Default: the service''s default.'
    Secret = 'Secret environment variables for the container, as a hashtable; the service never shows them again.'
    Tag = 'Tags for the endpoint.'
    Task = 'The task. Default {MertDefaults.Task} for the {MertDefaults.Repository} repository; for any other repository, left to the service.'
    ThrottleLimit = 'How many endpoints are worked on at once when many come down the pipeline (default {default}). Prompts, progress, output and errors stay on the pipeline thread; results come out in input order.'
    Timeout = 'How long to wait for the endpoint to be running and to answer its health route: a TimeSpan (00:15:00), or seconds as a number or a string (900, ''900''). Default {default}. The old name -TimeoutSec (seconds) still works.'
    Token = 'A Hugging Face token as a SecureString, e.g. (Read-Host -AsSecureString). Default: $env:HF_TOKEN, $env:HUGGING_FACE_HUB_TOKEN, then the token file ($env:HF_TOKEN_PATH, $env:HF_HOME/token, ~/.cache/huggingface/token). Never written to any output.'
    Type = 'Who may call the endpoint: authenticated (needs a token), private or public. Default {default}.'
    Vendor = 'The cloud vendor. Default {default}.'
    WhatIf = 'Shows what the command would do without doing it: no request that changes anything is sent.'
    Confirm = 'Asks before each change.'

    # Defaults that are not a plain property value of a fresh cmdlet (those are read from the cmdlet itself).
    DefaultValues = @{
        Namespace = '$env:MERT_ENDPOINT_NAMESPACE, else the user of the token'
        Token = '$env:HF_TOKEN, $env:HUGGING_FACE_HUB_TOKEN, then the token file'
    }

    # OUTPUTS: one description per output type.
    OutputTypes = @{
        'MertEndpoint.EndpointInfo' = 'An endpoint: Name, Namespace, Status (an enum; StatusText is the service''s word), Url, Instance, replicas, model, image, CreatedBy and UpdatedBy, PricePerHour, BilledSince and BilledFor.'
        'MertEndpoint.EndpointCost' = 'Billed time and estimated spend of one endpoint over the period: BilledTime, PricePerHour (PriceSource says where it came from), EstimatedCost with its bounds (BilledTimeLow/High, CostLow/High), CurrentlyBilling, BilledSince, and Requests and CostPer1000Requests where metrics answer.'
        'MertEndpoint.EndpointStateChange' = 'One state change of an endpoint from the usage history: Namespace, Name, State, PreviousState, Replicas, Time with its bounds Earliest and Latest, and Source (action, updatedAt, sighting, estimate or unknown: how it is known).'
        'MertEndpoint.HistoryCompaction' = 'What a compaction of the usage history did: Path, Compacted, Reason (why not, when it did not), SizeBefore and SizeAfter in bytes, RecordsBefore and RecordsAfter, KeptSince (records before it were dropped for age) and Duration.'
        'MertEndpoint.ColdStart' = 'One cold start from the usage history: Namespace, Name, PreviousState, Started and Ended with their bounds, Outcome (running, or the state that ended the boot), BootTime with BootTimeLow and BootTimeHigh, Source (how the start is known), Replicas and the instance.'
        'MertEndpoint.HardwareInfo' = 'One offer of the provider catalog: Vendor, Region, InstanceType, InstanceSize, Accelerator, GPU memory, PricePerHour (USD per replica-hour) and quota.'
        'MertEndpoint.InvokeResult' = 'One answered request: InputPath, OutputPath, StatusCode, Duration (Seconds), BytesSent and Response (the parsed answer, or its text with -Raw; null with -OutDirectory).'
        'MertEndpoint.EndpointLogLine' = 'One log line: Time, Replica, Message, Namespace and Name; as text it is the message, so Select-String works on it.'
        'MertEndpoint.MetricPoint' = 'One value of a metric: Metric, Time, Value, Namespace and Name (Raw holds what the service sent when its shape was not understood).'
        'MertEndpoint.MetricSummary' = 'One metric over the period (-Summary): Metric, Points, Total, Average, Minimum, P50, P95 and Maximum.'
        'MertEndpoint.EndpointReplica' = 'One replica: Replica (its id), State, StartedAt, ReadyAt and FailedAt, with Namespace and Name for piping to Get-MertEndpointLog.'
        'MertEndpoint.SetupReport' = 'The setup check: Ok (true when nothing is missing), TokenSource (where the token came from, never the token), User, AccountType, Organizations, Namespace and NamespaceSource, Listings (each namespace: Role, Readable, Endpoints, Problem), Hardware (the default), its PricePerHour and Quota, ApiUrl, HubUrl, HistoryPath and HistoryBytes, and Problems (the message of each SetupIncomplete error).'
        'MertEndpoint.GuardResult' = 'What one run of the guard did (a PSCustomObject with that type name):'
        'System.Object' = 'Whatever the script block outputs, streamed as it is written.'
        'None' = 'Nothing.'
    }
}
