# Help source for Test-MertEndpointSetup; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Description = 'Checks, in one command, whether this machine is set up to manage endpoints, and says what it found. It sends only reads: whoami-v2 on the Hub, one listing per namespace, and the hardware catalog.

It reports where the token came from (-Token, HF_TOKEN, HUGGING_FACE_HUB_TOKEN or the token file''s path), never the token itself; the token''s account and organizations; the namespace commands use without -Namespace, and where that came from; whether the endpoints of that namespace, the user and each organization can be listed; the price per hour and the quota of the default hardware in the namespace''s catalog; the control plane and Hub it talks to; and where the usage history is and how large.

The result has an Ok property a script can test. Each problem is also a non-terminating error with the id SetupIncomplete, its cause as the InnerException, so -ErrorAction Stop ends a script at the first one. Unlike the other cmdlets, a missing token does not end the command: it is one of the problems, and the report still shows the rest (the usage history, the base URLs).'
    Examples = @(
        @{
            Code = 'Test-MertEndpointSetup'
            Remarks = 'Shows the token''s source, the account, the namespace, each listing, the default hardware''s price and quota, and the usage history; a SetupIncomplete error follows for each problem.'
        }
        @{
            Code = 'if (-not (Test-MertEndpointSetup -ErrorAction SilentlyContinue).Ok) { exit 1 }'
            Remarks = 'In a scheduled script: stop before any work when the setup is incomplete.'
        }
        @{
            Code = '(Test-MertEndpointSetup -Namespace lab).Listings | Where-Object -Not Readable'
            Remarks = 'Checks the setup for the organization lab, and lists the namespaces whose endpoints cannot be read, with the reason in Problem.'
        }
    )
    Parameters = @{
        Namespace = 'The namespace to check, as other commands would use it. Default: $env:MERT_ENDPOINT_NAMESPACE, else the user of the token. The token''s user and each of its organizations are checked as well.'
    }
    Synopsis = 'Checks the setup: which token is used and from where (never the token), the namespace and organizations, each listing, the default hardware''s price and quota, and the usage history.'
    Links = @('Get-MertEndpoint', 'Get-MertEndpointHardware', 'Get-MertEndpointCost')
}
