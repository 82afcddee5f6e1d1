# Help source for Invoke-MertEndpoint; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Description = "Sends requests to a running endpoint's URL: files from the pipeline (Get-ChildItem output) or -InFile, streamed from disk and never read whole into memory, or one JSON body with -Body. The URL comes from -Name (one GET), from -InputObject (the endpoint that Start-MertEndpoint or Use-MertEndpoint gives you), or from -Url. Each file is POSTed to -Route with a content type from its extension (wav audio/wav, flac audio/flac, mp3 audio/mpeg, ogg audio/ogg, m4a audio/mp4, json application/json, else application/octet-stream) unless -ContentType says otherwise.`n`nA scaled-to-zero endpoint is woken by the first request: the request asks the service to hold it while a replica starts (X-Scale-Up-Timeout), and a 503 is retried with backoff until -Timeout. 429, 502, 504 and dropped connections are retried a few times; other answers are not. A paused endpoint cannot be woken by a request: the command stops with EndpointNotReady and says to run Start-MertEndpoint or Use-MertEndpoint. A file that fails (a 500 from the model, say) is a non-terminating error naming the file, the status code and the service's message; the other files carry on. Errors that would repeat for every file (paused endpoint, 401, 403, 404) end the command instead.`n`nUp to -ThrottleLimit requests are in flight; results come out as they finish. A progress bar shows done, failed and skipped files, and the total and time left once the total is known (piped input: at its end).`n`nWith -OutDirectory each answer is written to <OutDirectory>/<path relative to -BaseDirectory>.json, through a temp file and a rename, so an output is never half-written. Inputs whose output exists are skipped without a request (see -Verbose), so running the same command again after a crash or Ctrl+C sends only what is left; -Force sends everything again. With -OutDirectory the output objects carry no Response (it is in the file), so a long run does not hold every answer in memory.`n`nIt ends with one line (an information record tagged PSHOST, silenced with -InformationAction Ignore): how many inputs were answered, failed and skipped, and how long it took; after Ctrl+C the line says it was stopped and that running the same command again sends only what is left."
    Examples = @(
        @{
            Code = 'Get-ChildItem ./audio -Recurse -Include *.wav, *.flac | Invoke-MertEndpoint mert-spike6-inference -OutDirectory ./embeddings -BaseDirectory ./audio'
            Remarks = 'Embeds every audio file under ./audio; ./audio/a/track.wav gives ./embeddings/a/track.wav.json. Run it again to finish an interrupted run.'
        }
        @{
            Code = 'Use-MertEndpoint mert-spike6-inference -IdleTimeout 00:15:00 { param($e) Get-ChildItem ./audio -Recurse -Filter *.wav | Invoke-MertEndpoint -InputObject $e -OutDirectory ./embeddings -BaseDirectory ./audio -ThrottleLimit 8 }'
            Remarks = 'Starts the endpoint, embeds the files eight at a time, and pauses the endpoint afterwards even on error or Ctrl+C.'
        }
        @{
            Code = '(Invoke-MertEndpoint mert-spike6-inference -InFile ./song.mp3).Response.embeddings.Count'
            Remarks = 'Sends one file and reads the parsed answer: 13 layers for MERT-v1-95M.'
        }
        @{
            Code = 'Invoke-MertEndpoint -Url https://xyz.us-east-1.aws.endpoints.huggingface.cloud -Body @{ inputs = ''hello'' } -Raw'
            Remarks = 'Sends a hashtable as JSON to a URL and returns the answer''s text.'
        }
    )
    Parameters = @{
        BaseDirectory = 'With -OutDirectory: the folder that input paths are taken relative to when naming outputs, so that two track.wav files in different folders do not collide. Default: the current location. An input outside it is an error.'
        Body = 'One request body instead of files: a string is sent as it is; any other object is converted with ConvertTo-Json -Depth 100. The content type is application/json unless -ContentType is given.'
        ContentType = 'The content type of every request, instead of the one chosen from each file''s extension.'
        Force = 'With -OutDirectory: send inputs whose output already exists, and replace the output.'
        InFile = 'Files to send. Binds Get-ChildItem output by property name (PSPath, FullName) and path strings by value. Paths are literal (no wildcards) and relative to the current location; directories are skipped.'
        InputObject = 'The endpoint to send to, as Get-MertEndpoint, Start-MertEndpoint or Use-MertEndpoint output it. Its Url is used; when it has none (it was paused when read), the endpoint is read again.'
        Name = 'The endpoint to send to; its URL is read with one GET. Does not bind from the pipeline: piped objects are the files.'
        Namespace = 'The user or organization that owns the endpoint named by -Name. Default: $env:MERT_ENDPOINT_NAMESPACE, else the user of the token.'
        OutDirectory = 'Write each answer to <OutDirectory>/<input path relative to -BaseDirectory>.json (a temp file, then a rename), and skip inputs whose output exists unless -Force. The output objects then carry no Response.'
        Raw = 'Put the answer''s text in the Response property instead of parsing it as JSON.'
        Route = 'The path under the endpoint URL to POST to. Default /.'
        ThrottleLimit = 'Requests in flight at once (default {default}). Results and errors are written on the pipeline thread as requests finish.'
        Timeout = 'How long each request may take in all: waking a scaled-to-zero endpoint, retries of 503 while it wakes, and the answer; a TimeSpan (00:15:00), or seconds as a number or a string (900, ''900''). Default {default}. The old name -TimeoutSec (seconds) still works.'
        Url = 'The endpoint URL to send to (its status.url), instead of -Name or -InputObject. Must be https://, or http:// to a loopback host. The token is sent only to *.endpoints.huggingface.cloud hosts and to loopback, so a mistyped or foreign URL never receives it; use -Name or -InputObject for other hosts.'
    }
    Synopsis = 'Sends files or a JSON body to an endpoint, in parallel, waking it if scaled to zero, with resumable output.'
    Links = @('Use-MertEndpoint', 'Start-MertEndpoint', 'Get-MertEndpoint')
    # Defaults computed when the command runs (a fresh cmdlet holds none).
    DefaultValues = @{
        BaseDirectory = 'the current location'
    }
}
