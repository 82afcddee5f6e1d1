# The package is the same whichever host builds it: a ReadyToRun image of Core and Polly for each platform it
# precompiles for, each really precompiled for that platform (read from its PE headers), beside the IL copies that
# every other runtime loads. No emulator: it reads files.
BeforeDiscovery {
    $script:targets = @(
        # The PE machine of a ReadyToRun image is the architecture's, XOR'ed with an OS value on other systems than
        # Windows (CoreCLR pedecoder.h, IMAGE_FILE_MACHINE_NATIVE_OS_OVERRIDE: Linux 0x7B79, Apple 0x4644, Windows 0).
        @{ Rid = 'linux-x64'; Machine = 0x8664 -bxor 0x7B79 }
        @{ Rid = 'linux-arm64'; Machine = 0xAA64 -bxor 0x7B79 }
        @{ Rid = 'win-x64'; Machine = 0x8664 }
        @{ Rid = 'osx-arm64'; Machine = 0xAA64 -bxor 0x4644 }
    )
}

BeforeAll {
    $buildOut = if ($env:MERT_BUILD_OUT) { $env:MERT_BUILD_OUT } else { Join-Path $PSScriptRoot '../../out' }
    $script:dependencies = Join-Path $buildOut 'MertEndpoint/dependencies'

    function Read-PeFacts([string] $Path) {
        # The COFF machine, and the ReadyToRun header's signature if the CLI header points at one ('RTR', 0x00525452).
        $stream = [IO.File]::OpenRead($Path)
        try {
            $pe = [Reflection.PortableExecutable.PEReader]::new($stream)
            $headers = $pe.PEHeaders
            $signature = $null
            $native = $headers.CorHeader.ManagedNativeHeaderDirectory
            $offset = 0
            if ($native.Size -gt 0 -and $headers.TryGetDirectoryOffset($native, [ref] $offset)) {
                $bytes = [byte[]]::new(4)
                $null = $stream.Seek($offset, 'Begin')
                $null = $stream.Read($bytes, 0, 4)
                $signature = [BitConverter]::ToUInt32($bytes, 0)
            }
            $reader = [Reflection.Metadata.PEReaderExtensions]::GetMetadataReader($pe)
            [pscustomobject]@{
                Machine   = [int][uint16]$headers.CoffHeader.Machine
                Signature = $signature
                Name      = $reader.GetString($reader.GetAssemblyDefinition().Name)
                Version   = $reader.GetAssemblyDefinition().Version
            }
        }
        finally { $stream.Dispose() }
    }
}

Describe 'ReadyToRun images in the built module' {
    It '<Rid>: <Name> is a ReadyToRun image for that platform, of the same assembly as the IL copy' -ForEach @(
        foreach ($t in $targets) { foreach ($name in 'MertEndpoint.Core', 'Polly.Core') { @{ Rid = $t.Rid; Machine = $t.Machine; Name = $name } } }
    ) {
        $image = Join-Path $dependencies "net10.0-$Rid/$Name.dll"
        Test-Path $image | Should -BeTrue -Because "the build precompiles $Name for $Rid on any host"
        $facts = Read-PeFacts $image
        $facts.Signature | Should -Be 0x00525452 -Because 'the CLI header points at a ReadyToRun header'
        '0x{0:X4}' -f $facts.Machine | Should -Be ('0x{0:X4}' -f $Machine)
        $il = Read-PeFacts (Join-Path $dependencies "$Name.dll")
        $il.Signature | Should -BeNullOrEmpty -Because 'the copy beside it is plain IL, for every other runtime'
        $facts.Name | Should -Be $il.Name
        $facts.Version | Should -Be $il.Version
    }

    It 'ships no other precompiled folder' {
        @(Get-ChildItem $dependencies -Directory | ForEach-Object Name | Sort-Object) |
            Should -Be @($targets | ForEach-Object { "net10.0-$($_.Rid)" } | Sort-Object)
    }
}
