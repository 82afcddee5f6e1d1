using System.Text.Json.Nodes;

namespace MertEndpoint.Emulator;

/// <summary>One row of the provider catalog: an instance type and size in one region.</summary>
sealed record Compute(
    string Vendor, string Region, string Accelerator, string InstanceType, string InstanceSize,
    int NumAccelerators, int NumCpus, double MemoryGb, int GpuMemoryGb, string Architecture,
    double PricePerHour, int MaxAccelerators, string Status = "available")
{
    public string Id => $"{Vendor}-{Region}-{InstanceType}-{InstanceSize}";
}

/// <summary>The hardware and price catalog served at <c>GET /v2/provider/{ns}</c>. List prices are the
/// published AWS ones (USD per replica-hour); hardware figures are close to the real offers.</summary>
static class Catalog
{
    const string Aws = "aws", UsEast1 = "us-east-1";

    public static readonly IReadOnlyList<Compute> Computes =
    [
        Cpu("intel-spr", "x1", 1, 2, 4, 0.033),
        Cpu("intel-spr", "x2", 2, 4, 8, 0.067),
        Cpu("intel-spr", "x4", 4, 8, 16, 0.134),
        Cpu("intel-spr", "x8", 8, 16, 32, 0.268),
        Gpu("nvidia-t4", "x1", 1, 4, 15, 16, "Nvidia T4", 0.50, 4),
        Gpu("nvidia-t4", "x4", 4, 48, 192, 64, "Nvidia T4", 3.00, 4),
        Gpu("nvidia-l4", "x1", 1, 8, 30, 24, "Nvidia L4", 0.80, 4),
        Gpu("nvidia-l4", "x4", 4, 48, 186, 96, "Nvidia L4", 3.80, 4),
        Gpu("nvidia-a10g", "x1", 1, 6, 30, 24, "Nvidia A10G", 1.00, 4),
        Gpu("nvidia-a10g", "x4", 4, 48, 186, 96, "Nvidia A10G", 5.00, 4),
        Gpu("nvidia-l40s", "x1", 1, 8, 62, 48, "Nvidia L40S", 1.80, 8),
        Gpu("nvidia-l40s", "x4", 4, 48, 382, 192, "Nvidia L40S", 8.30, 8),
        Gpu("nvidia-l40s", "x8", 8, 192, 1534, 384, "Nvidia L40S", 23.50, 8),
        Gpu("nvidia-a100", "x1", 1, 11, 142, 80, "Nvidia A100", 2.50, 8),
        Gpu("nvidia-a100", "x2", 2, 22, 284, 160, "Nvidia A100", 5.00, 8),
        Gpu("nvidia-a100", "x4", 4, 44, 568, 320, "Nvidia A100", 10.00, 8),
        Gpu("nvidia-a100", "x8", 8, 88, 1136, 640, "Nvidia A100", 20.00, 8),
        Gpu("nvidia-h200", "x1", 1, 23, 256, 141, "Nvidia H200", 5.00, 8) with { Status = "low_availability" },
        Gpu("nvidia-h200", "x2", 2, 46, 512, 282, "Nvidia H200", 10.00, 8) with { Status = "low_availability" },
        Gpu("nvidia-h200", "x4", 4, 92, 1024, 564, "Nvidia H200", 20.00, 8) with { Status = "low_availability" },
        Gpu("nvidia-h200", "x8", 8, 184, 2048, 1128, "Nvidia H200", 40.00, 8) with { Status = "low_availability" },
    ];

    static Compute Cpu(string type, string size, int n, int cpus, double mem, double price) =>
        new(Aws, UsEast1, "cpu", type, size, n, cpus, mem, 0, "Intel Sapphire Rapids", price, 16);

    static Compute Gpu(string type, string size, int n, int cpus, double mem, int gpuMem, string arch, double price, int max) =>
        new(Aws, UsEast1, "gpu", type, size, n, cpus, mem, gpuMem, arch, price, max);

    public static Compute? Find(string vendor, string region, string instanceType, string instanceSize) =>
        Computes.FirstOrDefault(c => c.Vendor == vendor && c.Region == region && c.InstanceType == instanceType && c.InstanceSize == instanceSize);

    /// <param name="usedAccelerators">Accelerators in use per instance type in the namespace.</param>
    public static JsonObject Render(Func<string, int> usedAccelerators) => new()
    {
        ["vendors"] = new JsonArray(Computes.GroupBy(c => c.Vendor).Select(v => (JsonNode)new JsonObject
        {
            ["name"] = v.Key,
            ["status"] = "available",
            ["regions"] = new JsonArray(v.GroupBy(c => c.Region).Select(r => (JsonNode)new JsonObject
            {
                ["name"] = r.Key,
                ["label"] = r.Key == UsEast1 ? "N. Virginia" : r.Key,
                ["status"] = "available",
                ["computes"] = new JsonArray(r.Select(c => (JsonNode)new JsonObject
                {
                    ["id"] = c.Id,
                    ["accelerator"] = c.Accelerator,
                    ["numAccelerators"] = c.NumAccelerators,
                    ["numCpus"] = c.NumCpus,
                    ["memoryGb"] = c.MemoryGb,
                    ["gpuMemoryGb"] = c.GpuMemoryGb,
                    ["instanceType"] = c.InstanceType,
                    ["instanceSize"] = c.InstanceSize,
                    ["architecture"] = c.Architecture,
                    ["status"] = c.Status,
                    ["pricePerHour"] = c.PricePerHour,
                    ["quota"] = new JsonObject { ["maxAccelerators"] = c.MaxAccelerators, ["usedAccelerators"] = usedAccelerators(c.InstanceType) },
                }).ToArray()),
            }).ToArray()),
        }).ToArray()),
    };
}
