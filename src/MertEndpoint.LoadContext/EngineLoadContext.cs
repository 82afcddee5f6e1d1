using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace MertEndpoint.LoadContext
{
    /// <summary>
    /// The private load context of MertEndpoint.Core and the third-party assemblies it uses (Polly.Core,
    /// Microsoft.Bcl.TimeProvider, ...) on PowerShell 7. The cmdlet assembly stays in the default context, which
    /// is handed only MertEndpoint.Core; Core's own references then bind here, so another module's Polly in the
    /// default context cannot replace ours, and ours never lands where theirs would look.
    /// </summary>
    public sealed class EngineLoadContext : AssemblyLoadContext
    {
        private const string EngineName = "MertEndpoint.Core";
        private static readonly object Gate = new object();
        private static EngineLoadContext? instance;

        /// <summary>The runtime's and PowerShell's own assemblies: simple name to path.</summary>
        private static readonly Lazy<Dictionary<string, string>> Platform = new Lazy<Dictionary<string, string>>(ReadPlatformAssemblies);

        private readonly string directory;

        private EngineLoadContext(string directory) : base("MertEndpoint", isCollectible: false) => this.directory = directory;

        /// <summary>
        /// Called by ModuleInit on import (again after Remove-Module); one context per process. Returns
        /// MertEndpoint.Core, loaded here, whose types the cmdlet assembly binds to through <see cref="ResolveEngine"/>.
        /// </summary>
        public static Assembly Install(string dependencyDirectory)
        {
            lock (Gate)
            {
                instance ??= new EngineLoadContext(dependencyDirectory);
                Default.Resolving -= ResolveEngine;
                Default.Resolving += ResolveEngine;
                return instance.LoadFromAssemblyName(new AssemblyName(EngineName));
            }
        }

        public static void Uninstall() => Default.Resolving -= ResolveEngine;

        private static Assembly? ResolveEngine(AssemblyLoadContext context, AssemblyName name) =>
            string.Equals(name.Name, EngineName, StringComparison.Ordinal) ? instance?.LoadFromAssemblyName(name) : null;

        /// <summary>
        /// Our copy of what we ship, unless the platform already has it in at least the version asked for
        /// (System.Text.Json, System.Memory, ...): those stay shared with the host, as types the cmdlets also see.
        /// </summary>
        protected override Assembly? Load(AssemblyName name)
        {
            if (name.Name == null) return null;
            var path = Path.Combine(directory, name.Name + ".dll");
            if (!File.Exists(path) || IsProvidedByPlatform(name)) return null;
            var precompiled = Path.Combine(directory, NativeFolder, name.Name + ".dll");
            return LoadFromAssemblyPath(File.Exists(precompiled) ? precompiled : path);
        }

        /// <summary>
        /// Where the build puts ReadyToRun copies for exactly this runtime and platform: it ships "net10.0-linux-x64",
        /// "net10.0-linux-arm64", "net10.0-win-x64" and "net10.0-osx-arm64". A copy compiled for another runtime, OS or
        /// architecture would be of no use here, so none is ever taken where it was not built for; without a folder
        /// for this one (osx-x64, win-arm64, another .NET), the IL copies load.
        /// </summary>
        internal static readonly string NativeFolder = $"net{Environment.Version.Major}.0-{OperatingSystemName()}-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";

        private static string OperatingSystemName() =>
            OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : OperatingSystem.IsLinux() ? "linux" : "other";

        private static bool IsProvidedByPlatform(AssemblyName name) =>
            Platform.Value.TryGetValue(name.Name!, out var path) && AssemblyName.GetAssemblyName(path).Version >= (name.Version ?? new Version());

        private static Dictionary<string, string> ReadPlatformAssemblies()
        {
            var byName = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var list = AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "";
            foreach (var path in list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                byName.TryAdd(Path.GetFileNameWithoutExtension(path), path);
            return byName;
        }
    }
}
