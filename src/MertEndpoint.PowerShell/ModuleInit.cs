using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;

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

        public void OnImport() => AppDomain.CurrentDomain.AssemblyResolve += Resolve;

        public void OnRemove(PSModuleInfo psModuleInfo) => AppDomain.CurrentDomain.AssemblyResolve -= Resolve;

        private static Assembly? Resolve(object? sender, ResolveEventArgs args)
        {
            var name = new AssemblyName(args.Name);
            var path = Path.Combine(DependencyDir, name.Name + ".dll");
            return File.Exists(path) ? Assembly.LoadFrom(path) : null;
        }
    }
}
