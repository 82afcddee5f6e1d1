using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// Keeps our third-party assemblies (dependencies/) from meeting other modules' copies. On PowerShell 7,
    /// MertEndpoint.Core and its dependencies load in a private AssemblyLoadContext (MertEndpoint.LoadContext.dll,
    /// a net8.0 assembly since netstandard2.0 has no AssemblyLoadContext). Windows PowerShell has no load contexts:
    /// there an AssemblyResolve handler answers our own assemblies' requests for what dependencies/ holds.
    /// </summary>
    public sealed class ModuleInit : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        private static readonly Assembly Self = typeof(ModuleInit).Assembly;
        private static readonly string ModuleDir = Path.GetDirectoryName(Self.Location) ?? ".";
        private static readonly string DependencyDir = Path.Combine(ModuleDir, "dependencies");
        private static readonly bool IsNetFramework = RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal);

        public void OnImport()
        {
            if (IsNetFramework)
            {
                AppDomain.CurrentDomain.AssemblyResolve += ResolveOnNetFramework;
                WarmUp();
                return;
            }
            // PowerShell 7.0-7.3 run on .NET 5-7: older than the net8.0 load context and than the System.Text.Json the
            // cmdlets share with the host. Say so at import, not at the first request.
            if (Environment.Version.Major < 8)
                throw new PlatformNotSupportedException(
                    $"MertEndpoint needs PowerShell 7.4 or later (or Windows PowerShell 5.1); this is {RuntimeInformation.FrameworkDescription}. Install a current PowerShell: https://aka.ms/powershell");
            var engine = (Assembly)CallLoadContext("Install", DependencyDir)!;
            ExposeTypes(engine);
            CallLoadContextType("SignalWatch", "Install", new Func<int, string, bool>(PayOwedPauses));
            if (!IsPrecompiled(engine)) WarmUp();
        }

        /// <summary>
        /// Core came from its ReadyToRun image (dependencies/net10.0-&lt;rid&gt;/, on the runtime and platform it was built
        /// for), not from the IL copy in dependencies/. Then the warm-up is skipped: with the image, a fresh pwsh's import
        /// and first Get-MertEndpoint &lt;name&gt; took 62 to 115 ms less without it (timed inside the process, medians of 13
        /// to 21, three A/B runs on a shared two-core machine) and 117 to 184 ms less CPU. It compiled a canned Get, whoami
        /// and the history's code on a second thread while the import and the first command ran, and cost more than it
        /// saved the command: the pipeline thread, pwsh's own threads and the warm-up took turns on the cores. Where the IL
        /// copies load (another runtime or platform, Windows PowerShell) it runs as before (not measured without it there).
        /// </summary>
        private static bool IsPrecompiled(Assembly engine) =>
            !string.Equals(Path.GetDirectoryName(engine.Location), DependencyDir, StringComparison.OrdinalIgnoreCase);

        /// <summary>
        /// The process was told to end (SIGTERM, SIGHUP, SIGINT without a console): hands the history writes still going
        /// on to the spool, pays every pause a running command owes, says what became of each on stderr (no pipeline is
        /// left to write to), and asks for exit 128 + signal.
        /// About 4 s in all: Windows kills a closed console's process about 5 s after, docker stop after 10.
        /// </summary>
        private static bool PayOwedPauses(int signal, string name)
        {
            // The history's readings a Get-MertEndpoint left to be written: to the spool now (the exit handlers may not run).
            UsageService.HandOffAll(TimeSpan.FromSeconds(0.5));
            if (OwedPauses.Count == 0) return false;
            foreach (OwedPauseOutcome outcome in OwedPauses.PayAll(TimeSpan.FromSeconds(3.5), name))
                Console.Error.WriteLine(outcome.Line);
            Console.Error.Flush();
            return true;
        }

        /// <summary>Off the pipeline thread: the first command then finds the client's code ready (JIT, connection pool).</summary>
        private static void WarmUp() =>
            System.Threading.Tasks.Task.Run(() => { try { EndpointClient.WarmUp(); } catch (Exception) { /* only a head start */ } });

        public void OnRemove(PSModuleInfo psModuleInfo)
        {
            if (IsNetFramework) AppDomain.CurrentDomain.AssemblyResolve -= ResolveOnNetFramework;
            else CallLoadContext("Uninstall");
        }

        private static object? CallLoadContext(string method, params object[] arguments) =>
            CallLoadContextType("EngineLoadContext", method, arguments);

        private static object? CallLoadContextType(string typeName, string method, params object[] arguments)
        {
            var type = Assembly.LoadFrom(Path.Combine(ModuleDir, "MertEndpoint.LoadContext.dll"))
                .GetType("MertEndpoint.LoadContext." + typeName, throwOnError: true)!;
            return type.GetMethod(method, BindingFlags.Public | BindingFlags.Static)!.Invoke(null, arguments);
        }

        /// <summary>
        /// PowerShell 7 resolves type literals only from the default load context, so [MertEndpoint.EndpointInfo] or
        /// [MertEndpoint.EndpointStatus]::Running would no longer be found: name Core's public types as type
        /// accelerators, as Windows PowerShell sees them. They stay (the assembly cannot unload); re-import re-adds.
        /// </summary>
        private static void ExposeTypes(Assembly engine)
        {
            var add = typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators")
                ?.GetMethod("Add", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(string), typeof(Type) }, null);
            if (add == null) return; // a PowerShell without it loses only the type literals
            foreach (var type in engine.GetExportedTypes())
                add.Invoke(null, new object[] { type.FullName!, type });
        }

        /// <summary>
        /// Only when one of our assemblies asks (the requester is unknown for some late-bound loads), and only for
        /// the same identity in at least the version asked for, as a binding redirect would allow.
        /// </summary>
        private static Assembly? ResolveOnNetFramework(object? sender, ResolveEventArgs args)
        {
            if (args.RequestingAssembly != null && !IsOurs(args.RequestingAssembly)) return null;
            var wanted = new AssemblyName(args.Name);
            var path = Path.Combine(DependencyDir, wanted.Name + ".dll");
            if (!File.Exists(path)) return null;
            var ours = AssemblyName.GetAssemblyName(path);
            var sameIdentity = string.Equals(ours.Name, wanted.Name, StringComparison.OrdinalIgnoreCase)
                && string.Equals(ours.CultureName ?? "", wanted.CultureName ?? "", StringComparison.OrdinalIgnoreCase)
                && Convert.ToBase64String(ours.GetPublicKeyToken() ?? new byte[0]) == Convert.ToBase64String(wanted.GetPublicKeyToken() ?? new byte[0]);
            return sameIdentity && ours.Version >= (wanted.Version ?? new Version()) ? Assembly.LoadFrom(path) : null;
        }

        private static bool IsOurs(Assembly assembly) =>
            assembly == Self || (!assembly.IsDynamic && assembly.Location.Length > 0
                && string.Equals(Path.GetDirectoryName(assembly.Location), DependencyDir, StringComparison.OrdinalIgnoreCase));
    }
}
