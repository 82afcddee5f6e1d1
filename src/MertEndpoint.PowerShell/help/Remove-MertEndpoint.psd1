# Help source for Remove-MertEndpoint; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Description = 'Deletes each endpoint with its configuration, logs and metrics. This cannot be undone: it asks for confirmation unless -Force or -Confirm:$false. -WhatIf deletes nothing, even with -Force. To stop billing without deleting, use Stop-MertEndpoint. Names must be exact; pipe Get-MertEndpoint output to remove several. An endpoint counts as deleted only when a read answers that it is gone: the answer to the delete is checked by reads for up to 10 seconds (the delete sent once more if reads still show it after 2 seconds), and an endpoint still shown after that is an error, EndpointStillBilling while it bills, else EndpointNotDeleted.'
    Examples = @(
        @{
            Code = 'Remove-MertEndpoint old-test'
            Remarks = 'Asks for confirmation, then deletes the endpoint.'
        }
        @{
            Code = 'Get-MertEndpoint tmp-* | Remove-MertEndpoint -WhatIf'
            Remarks = 'Shows which endpoints would be deleted.'
        }
    )
    Parameters = @{
        Force = 'Delete without asking for confirmation. -WhatIf still deletes nothing.'
    }
    Synopsis = 'Deletes endpoints permanently.'
    Links = @('Get-MertEndpoint', 'Stop-MertEndpoint', 'New-MertEndpoint')
}
