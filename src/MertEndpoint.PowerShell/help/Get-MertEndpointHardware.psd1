# Help source for Get-MertEndpointHardware; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Description = 'Reads the provider catalog (GET /provider/{namespace}): vendor, region, instance type and size, accelerator, memory, status, price per replica-hour in USD, and accelerator quota. All filters accept wildcards.'
    Examples = @(
        @{
            Code = 'Get-MertEndpointHardware nvidia-* -Region us-east-1 | Sort-Object PricePerHour'
            Remarks = 'GPU instances in us-east-1, cheapest first.'
        }
    )
    Parameters = @{
        Accelerator = 'Only this accelerator: gpu, cpu or neuron.'
        InstanceType = 'Only this instance type, e.g. nvidia-*.'
        Region = 'Only this region, e.g. us-east-1.'
        Vendor = 'Only this vendor, e.g. aws.'
    }
    Synopsis = 'Lists the hardware your namespace can use, with price per hour and GPU quota.'
    Links = @('New-MertEndpoint', 'Set-MertEndpoint', 'Get-MertEndpointCost')
}
