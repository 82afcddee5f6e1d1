# The documents beside the code: a short README that points at docs/ and bench/RESULTS.md, and no relative link
# (file or #heading) that leads nowhere. Needs neither the module nor the emulator.
BeforeDiscovery {
    $root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $documents = @(
        Get-Item (Join-Path $root 'README.md')
        Get-ChildItem (Join-Path $root 'docs') -Filter *.md
        Get-Item (Join-Path $root 'bench/RESULTS.md')
    ) | ForEach-Object { @{ Path = $_.FullName; Name = [IO.Path]::GetRelativePath($root, $_.FullName) } }
}

BeforeAll {
    $script:root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path

    function Get-ProseLine([string] $Path) {
        # The lines outside fenced code blocks: a '# comment' in a code sample is not a heading, a link in one is not a link.
        $fenced = $false
        foreach ($line in Get-Content $Path) {
            if ($line -match '^\s*(```|~~~)') { $fenced = -not $fenced; continue }
            if (-not $fenced) { $line }
        }
    }

    function Get-HeadingAnchor([string] $Path) {
        # GitHub's anchors: the heading's text, lower case, without punctuation other than '-' and '_', spaces as '-';
        # a repeated anchor gets -1, -2, ...
        $seen = @{}
        foreach ($line in Get-ProseLine $Path) {
            if ($line -notmatch '^#{1,6}\s+(.+?)\s*#*\s*$') { continue }
            $text = $Matches[1] -replace '\[([^\]]*)\]\([^)]*\)', '$1'
            $slug = ($text.ToLowerInvariant() -replace '[^\p{L}\p{Nd}\s_-]', '') -replace ' ', '-'
            if ($seen.ContainsKey($slug)) { $seen[$slug]++; "$slug-$($seen[$slug])" } else { $seen[$slug] = 0; $slug }
        }
    }

    function Get-RelativeLink([string] $Path) {
        # [text](target) outside code spans and fences, except web and mail addresses.
        foreach ($line in Get-ProseLine $Path) {
            $prose = $line -replace '`[^`]*`', ''
            foreach ($m in [regex]::Matches($prose, '\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')) {
                $target = $m.Groups[1].Value
                if ($target -notmatch '^[a-z][a-z0-9+.-]*:') { $target }
            }
        }
    }
}

Describe 'Links in <Name>' -ForEach $documents {
    It 'has relative links that all lead to an existing file and heading' {
        $links = @(Get-RelativeLink $Path)
        $broken = foreach ($link in $links) {
            $file, $anchor = $link -split '#', 2
            $target = if ($file) { [IO.Path]::GetFullPath((Join-Path (Split-Path $Path) $file)) } else { $Path }
            if (-not (Test-Path $target)) { "$link (no file $target)"; continue }
            if ($anchor -and (Test-Path $target -PathType Leaf) -and $target -like '*.md' -and $anchor -notin @(Get-HeadingAnchor $target)) {
                "$link (no heading #$anchor in $([IO.Path]::GetRelativePath($root, $target)))"
            }
        }
        @($broken) | Should -BeNullOrEmpty
    }
}

Describe 'The link checker' {
    It 'finds a broken file, a broken anchor and a good link, and ignores code and web addresses' {
        $dir = Join-Path ([IO.Path]::GetTempPath()) "mert-docs-$([guid]::NewGuid().ToString('n'))"
        $null = New-Item -ItemType Directory $dir
        try {
            Set-Content (Join-Path $dir 'b.md') "# Start it`n`n## Readings: not confirmed, and their switches`n`n## Start it"
            Set-Content (Join-Path $dir 'a.md') @(
                '[good](b.md#readings-not-confirmed-and-their-switches) [second](b.md#start-it-1) [web](https://example.com/x#y)'
                '`[in code](nowhere.md)`'
                '```'
                '[fenced](nowhere.md)'
                '```'
                '[gone](missing.md) [bad anchor](b.md#no-such-heading)'
            )
            @(Get-HeadingAnchor (Join-Path $dir 'b.md')) | Should -Be @('start-it', 'readings-not-confirmed-and-their-switches', 'start-it-1')
            @(Get-RelativeLink (Join-Path $dir 'a.md')) | Should -Be @('b.md#readings-not-confirmed-and-their-switches', 'b.md#start-it-1', 'missing.md', 'b.md#no-such-heading')
        } finally { Remove-Item $dir -Recurse -Force }
    }
}

Describe 'The README' {
    BeforeAll { $script:readme = Get-Content (Join-Path $root 'README.md') }

    It 'is short: at most 250 lines' {
        $readme.Count | Should -BeLessOrEqual 250
    }

    It 'shows the two commands of a fresh clone, with how long they take' {
        $text = $readme -join "`n"
        $text | Should -Match ([regex]::Escape('dotnet tool restore && dotnet pwsh ./build.ps1 Demo'))
        $text | Should -Match ([regex]::Escape('dotnet tool restore && dotnet pwsh ./build.ps1 Test'))
        $text | Should -Match 'about \d+ s\b'
        $text | Should -Match 'about \d+ minutes'
    }

    It 'links every document in docs/ and bench/RESULTS.md' {
        $links = @(Get-RelativeLink (Join-Path $root 'README.md')) | ForEach-Object { ($_ -split '#')[0] }
        foreach ($doc in @(Get-ChildItem (Join-Path $root 'docs') -Filter *.md | ForEach-Object { "docs/$($_.Name)" }) + 'bench/RESULTS.md') {
            $links | Should -Contain $doc
        }
    }

    It 'tells the truth about where it is tested: only pwsh 7.6.9 on Linux x64 runs here' {
        $tested = ($readme -join "`n") -split '(?m)^## ' | Where-Object { $_ -like 'Tested where*' }
        $tested | Should -Not -BeNullOrEmpty
        $tested | Should -Match '7\.6\.9'
        $tested | Should -Match 'Windows PowerShell 5\.1 \| not run here'
        $tested | Should -Match '7\.4[^|]*\| not run here'
    }
}

Describe 'The documents hold no secret' {
    It 'shows no string shaped like a real Hugging Face token' {
        $files = @(Get-Item (Join-Path $root 'README.md')) + @(Get-ChildItem (Join-Path $root 'docs') -Filter *.md) + @(Get-Item (Join-Path $root 'bench/RESULTS.md'))
        # Real tokens are hf_ and 34 letters and digits; the emulator's hf_emulator_token and placeholders are not.
        @($files | Select-String -Pattern '\bhf_[A-Za-z0-9]{30,}\b' -CaseSensitive) | Should -BeNullOrEmpty
    }
}

Describe 'The fault matrix in docs/ERRORS.md' {
    BeforeAll {
        function Get-MatrixCell {
            # Every table row of the section "The fault matrix": its cells (a `\|` inside a cell stays in it).
            param([string] $Text)
            $start = $Text.IndexOf("`n## The fault matrix")
            if ($start -lt 0) { return @() }
            $end = $Text.IndexOf("`n## ", $start + 5)
            $section = if ($end -lt 0) { $Text.Substring($start) } else { $Text.Substring($start, $end - $start) }
            foreach ($line in $section -split "`n") {
                if ($line -notmatch '^\|' -or $line -match '^\|\s*-' -or $line -match '^\|\s*(fault|command and fault)\s*\|') { continue }
                , @(($line.Trim().Trim('|') -split '(?<!\\)\|') | ForEach-Object { $_.Trim() })
            }
        }

        function Test-NamedTest {
            # `file::name`: the file under tests/ holds that xunit method or that Pester It, exactly.
            param([string] $Reference)
            if ($Reference -notmatch '^(?<file>[\w.]+\.(cs|ps1))::(?<name>.+)$') { return "not a file::name reference: $Reference" }
            $name = $Matches.name -replace '\\\|', '|'
            $file = @(Get-ChildItem (Join-Path $root 'tests') -Recurse -Filter $Matches.file | Where-Object FullName -NotMatch '[\\/](bin|obj)[\\/]')
            if ($file.Count -ne 1) { return "no single file $($Matches.file) under tests/ ($($file.Count))" }
            $content = Get-Content $file[0].FullName -Raw
            $needle = if ($file[0].Extension -eq '.cs') { "Task $name(" } else { "It '$name'" }
            if (-not $content.Contains($needle)) { return "$($file[0].Name) has no test '$name'" }
        }
    }

    It 'names in every cell a test that exists, or says why it is not tested' {
        $rows = @(Get-MatrixCell (Get-Content (Join-Path $root 'docs/ERRORS.md') -Raw))
        $rows.Count | Should -BeGreaterThan 30 -Because 'the matrix has a row per command and fault shape'
        $problems = foreach ($row in $rows) {
            $tests = $row[-1]
            if ($tests -eq 'not tested') {
                if ($row[-2] -notmatch '^not tested: \S') { "'$($row[0])': 'not tested' without the reason" }
                continue
            }
            $references = @([regex]::Matches($tests, '`([^`]+)`') | ForEach-Object { $_.Groups[1].Value })
            if ($references.Count -eq 0) { "'$($row[0])': no test named" }
            foreach ($reference in $references) { Test-NamedTest $reference }
        }
        @($problems) | Should -BeNullOrEmpty
    }

    It 'the check finds a missing test, a missing file and an unnamed cell' {
        $text = @'
x
## The fault matrix
| fault | what you see | test |
| --- | --- | --- |
| a | seen | `FaultMatrixTests.cs::No_such_test_anywhere` |
| b | seen | `NoSuchFile.cs::X` |
| c | seen | nothing named |
| d | not tested: the reason | not tested |
## Next
'@
        $rows = @(Get-MatrixCell $text)
        $rows.Count | Should -Be 4
        Test-NamedTest '`x`' | Should -Match 'not a file::name'
        Test-NamedTest 'FaultMatrixTests.cs::No_such_test_anywhere' | Should -Match 'has no test'
        Test-NamedTest 'NoSuchFile.cs::X' | Should -Match 'no single file'
        Test-NamedTest 'FaultMatrixTests.cs::New_whose_create_answer_is_lost_after_it_landed_outputs_the_endpoint_once' | Should -BeNullOrEmpty
        $rows[2][-1] | Should -Be 'nothing named'
    }
}
