using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// Resolves third-party assemblies (Polly, System.Text.Json, ...) from the module's dependencies/ folder,
    /// only when the host does not already provide them, so another module's copy cannot replace ours and a
    /// host's newer framework copy (System.Text.Json in pwsh 7) is used as is.
    /// </summary>
    public sealed class ModuleInit : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        private static readonly string DependencyDir =
            Path.Combine(Path.GetDirectoryName(typeof(ModuleInit).Assembly.Location) ?? ".", "dependencies");

        public void OnImport()
        {
            // PowerShell 7.0-7.3 run on .NET 5-7, whose System.Text.Json is older than the one this module needs
            // and cannot be replaced in the default load context: say so at import, not at the first request.
            if (!RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal) && Environment.Version.Major < 8)
                throw new PlatformNotSupportedException(
                    $"MertEndpoint needs PowerShell 7.4 or later (or Windows PowerShell 5.1); this is {RuntimeInformation.FrameworkDescription}. Install a current PowerShell: https://aka.ms/powershell");
            AppDomain.CurrentDomain.AssemblyResolve += Resolve;
            // Off the pipeline thread: the first command then finds the client's code ready.
            System.Threading.Tasks.Task.Run(() => { try { EndpointClient.WarmUp(); } catch (Exception) { /* only a head start */ } });
        }

        public void OnRemove(PSModuleInfo psModuleInfo) => AppDomain.CurrentDomain.AssemblyResolve -= Resolve;

        private static Assembly? Resolve(object? sender, ResolveEventArgs args)
        {
            var name = new AssemblyName(args.Name);
            var path = Path.Combine(DependencyDir, name.Name + ".dll");
            return File.Exists(path) ? Assembly.LoadFrom(path) : null;
        }
    }
}
