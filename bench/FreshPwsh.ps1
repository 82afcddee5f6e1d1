# Shared by the benches that time fresh processes (first-call.ps1, import-latency.ps1): how to start this pwsh
# again, and medians of commands that take turns.
$hostPath = (Get-Process -Id $PID).Path
$pwsh = if ([IO.Path]::GetFileNameWithoutExtension($hostPath) -eq 'dotnet') { @($hostPath, (Join-Path $PSHOME 'pwsh.dll')) } else { @($hostPath) }

function Measure-Pwsh([string[]] $commands, [int] $runs = 11) {
    # Each command in a fresh pwsh; the commands take turns, run after run, so that a slow spell of the machine
    # weighs on each alike. Returns the median milliseconds of each, in order.
    $times = @{}
    foreach ($command in $commands) { $times[$command] = [Collections.Generic.List[double]]::new() }
    foreach ($i in 1..$runs) {
        foreach ($command in $commands) {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $command | Out-Null
            if ($LASTEXITCODE -ne 0) { throw "'$command' failed" }
            $times[$command].Add($sw.Elapsed.TotalMilliseconds)
        }
    }
    foreach ($command in $commands) { ($times[$command] | Sort-Object)[[int][math]::Floor($runs / 2)] }
}
