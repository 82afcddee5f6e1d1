# Shared set-up for the Pester tests: a live emulator on a free loopback port and the built module.
# Dot-source it in BeforeAll; call Stop-TestEmulator in AfterAll.
$repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
# What the tests test: build.ps1 Test sets MERT_BUILD_OUT to its own output (out/test); unset, Build's out/.
$script:BuildOut = if ($env:MERT_BUILD_OUT) { $env:MERT_BUILD_OUT } else { Join-Path $repoRoot 'out' }
$script:ModuleDir = Join-Path $script:BuildOut 'MertEndpoint'
$script:ModuleManifest = Join-Path $script:ModuleDir 'MertEndpoint.psd1'
Import-Module (Join-Path $repoRoot 'build/EmulatorHost.psm1') -Force
Import-Module $script:ModuleManifest

# The cached token lookups of this test run: never the user's own.
if (-not $env:MERT_ENDPOINT_CACHE_DIR) { $env:MERT_ENDPOINT_CACHE_DIR = Join-Path ([IO.Path]::GetTempPath()) "mert-cache-$PID" }

# The usage history of this test file: never the user's own.
$env:MERT_ENDPOINT_HISTORY_PATH = Join-Path ([IO.Path]::GetTempPath()) "mert-history-$([guid]::NewGuid().ToString('n')).jsonl"

# A distinctive token, so a test can prove it never leaks into any stream.
$script:TestToken = 'hf_pesterSecret_7Qz9XvL2mN4pR8'

# The reading of the service the emulator plays (see docs/EMULATOR.md, "Emulator fidelity"): build.ps1 Test runs the lifecycle,
# money and readiness suites once more with the pessimistic readings.
$script:EmulatorMode = if ($env:MERT_TEST_MODE -eq 'pessimistic') { 'pessimistic' } else { 'default' }
$script:ModeArguments = if ($script:EmulatorMode -eq 'pessimistic') {
    @('--updated-at', 'actions', '--url-from', 'running', '--url-scheme', 'random', '--stale-read-ms', '1500')
} else { @() }

function Start-TestEmulator {
    # -DefaultReadings: a suite whose promises do not depend on the readings pins the default ones, so that build.ps1
    # may run it in either pass (to keep the two passes level) and it tests the same thing in both.
    param([double] $BootSeconds = 1.5, [string[]] $Extra = @(), [switch] $DefaultReadings)
    $readings = if ($DefaultReadings) { @() } else { $script:ModeArguments }
    $emulator = Start-MertEmulator -ArgumentList (@('--boot-seconds', "$BootSeconds", '--token', $script:TestToken, '--org', 'lab') + $readings + $Extra)
    Use-MertEmulatorEnvironment $emulator -Token $script:TestToken
    $emulator
}

function Stop-TestEmulator {
    param($Emulator)
    if ($Emulator) { Stop-MertEmulator $Emulator }
    Remove-Item $env:MERT_ENDPOINT_HISTORY_PATH, "$($env:MERT_ENDPOINT_HISTORY_PATH).lock" -ErrorAction SilentlyContinue
}

function Get-Billing {
    # The emulator's meter for one endpoint: billed seconds (initializing + running + updating, per replica).
    param($Emulator, [string] $Name)
    (Invoke-MertEmulatorAdmin $Emulator billing).endpoints | Where-Object name -eq $Name | Select-Object -First 1
}

function Reset-Emulator {
    param($Emulator)
    $null = Invoke-MertEmulatorAdmin $Emulator reset -Method POST
    # A Retry-After holds per host for the whole process (issue 19): the emulator forgot the faults that set one, so
    # this session forgets their holds too.
    if ('MertEndpoint.RetryAfterGate' -as [type]) { ([type]'MertEndpoint.RetryAfterGate')::Process.Clear() }
}

function Add-Fault {
    param($Emulator, [hashtable] $Rule)
    $null = Invoke-MertEmulatorAdmin $Emulator faults -Method POST -Body $Rule
}

function Get-RequestLog { param($Emulator) @((Invoke-MertEmulatorAdmin $Emulator requests).requests) }

function Wait-Until {
    # Waits until a read agrees, instead of sleeping: an eventually consistent service (the pessimistic mode's
    # --stale-read-ms) may answer the previous state for a while after a change. Fails, naming the condition, when
    # the bound passes; the bound is generous because the machine may be loaded, and only a failure waits it out.
    param([Parameter(Mandatory, Position = 0)] [scriptblock] $Condition, [double] $TimeoutSec = 20)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
    while (-not (& $Condition)) {
        if ([DateTime]::UtcNow -gt $deadline) { throw "Not true within $TimeoutSec s: {$Condition}" }
        Start-Sleep -Milliseconds 100
    }
}

function Assert-CostMatchesMeter {
    # The spend promise of the mode, against the emulator's meter. When updatedAt dates every transition, the estimate
    # is within 2 %. When it dates only actions (pessimistic), a change the module did not cause is known only between
    # two sightings, so the promise is the bounds: the meter inside [Low, High], never under-reported. (The meter rounds
    # seconds to 3 decimals and cost to 6; the module rounds its bounds outwards to 4.)
    param($Cost, $Meter, [string] $Because)
    if ($script:EmulatorMode -eq 'pessimistic') {
        $Cost.BilledTimeLow.TotalSeconds | Should -BeLessOrEqual ($Meter.billedSeconds + 0.001) -Because $Because
        $Cost.BilledTimeHigh.TotalSeconds | Should -BeGreaterOrEqual ($Meter.billedSeconds - 0.001) -Because $Because
        [double]$Cost.CostLow | Should -BeLessOrEqual ($Meter.cost + 0.000001) -Because $Because
        [double]$Cost.CostHigh | Should -BeGreaterOrEqual ($Meter.cost - 0.000001) -Because $Because
    }
    else {
        [math]::Abs($Cost.BilledTime.TotalSeconds - $Meter.billedSeconds) / $Meter.billedSeconds | Should -BeLessOrEqual 0.02 -Because $Because
        [math]::Abs([double]$Cost.EstimatedCost - $Meter.cost) | Should -BeLessOrEqual (0.02 * $Meter.cost + 0.0001) -Because $Because
    }
}

function Get-HealthPath {
    # The health route's path under an endpoint's URL, as the request log shows it (random under --url-scheme random).
    param([Parameter(Mandatory)] $Endpoint)
    ([uri]$Endpoint.Url).AbsolutePath.TrimEnd('/') + $Endpoint.HealthRoute
}

function New-TestEndpoint {
    # Creates an endpoint and waits for it, the way a user would.
    param([string] $Name, [string] $ImageUrl = 'someone/mert-inference:latest')
    $null = New-MertEndpoint $Name -ImageUrl $ImageUrl -Confirm:$false
    Wait-MertEndpoint $Name -TimeoutSec 30
}
