# A child pwsh like this one (under `dotnet pwsh`, that is `dotnet <PSHOME>/pwsh.dll`), for tests that need a fresh
# process: scripts that call exit, imports by name, redirected output. Dot-source it.
$script:ChildHost = (Get-Process -Id $PID).Path
$script:ChildPrefix = if ([IO.Path]::GetFileNameWithoutExtension($script:ChildHost) -eq 'dotnet') { @(Join-Path $PSHOME 'pwsh.dll') } else { @() }

function Invoke-ChildPwsh {
    <#
    Runs pwsh -NoProfile -NonInteractive with the given arguments, stdout and stderr redirected (so the child sees
    redirected output, as under a scheduler), with extra environment variables ($null removes one).
    Returns ExitCode and Output (stdout and stderr lines, in one string).
    #>
    param([string[]] $ArgumentList, [hashtable] $Environment = @{}, [int] $TimeoutSec = 300)
    $info = [Diagnostics.ProcessStartInfo]::new($script:ChildHost)
    foreach ($a in @($script:ChildPrefix) + @('-NoProfile', '-NonInteractive') + $ArgumentList) { $info.ArgumentList.Add($a) }
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $info.UseShellExecute = $false
    foreach ($key in $Environment.Keys) {
        if ($null -eq $Environment[$key]) { $null = $info.Environment.Remove($key) } else { $info.Environment[$key] = [string]$Environment[$key] }
    }
    $process = [Diagnostics.Process]::Start($info)
    $stderr = $process.StandardError.ReadToEndAsync()
    $stdout = $process.StandardOutput.ReadToEnd()
    if (-not $process.WaitForExit($TimeoutSec * 1000)) { $process.Kill($true); throw "The child pwsh did not finish within $TimeoutSec s." }
    [pscustomobject]@{ ExitCode = $process.ExitCode; Output = $stdout + $stderr.Result }
}
