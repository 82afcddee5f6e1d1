using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Security;
using MertEndpoint.Tests;

namespace MertEndpoint.PowerShell.Tests;

/// <summary>
/// One runspace with the module's cmdlets added as SessionStateCmdletEntry (this process's MertEndpoint.Core, not a
/// private load context's copy) and a ClientFactory of its own: the fake service, the fake clock, a temporary data
/// directory. Nothing is shared with other tests, so the test classes run in parallel.
/// </summary>
public sealed class CmdletHost : IDisposable
{
    /// <summary>Wall-clock bound on any one command: a command that would hang fails the test instead.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>How long <see cref="RunAsync"/> lets a command run (wall clock) before failing the test; <see cref="Bound"/> unless a test with real work to do says more.</summary>
    public TimeSpan RunBound { get; set; } = Bound;

    private readonly Runspace _runspace;

    /// <param name="service">Another service than the fake one (a recording played back); the fake one stays idle.</param>
    public CmdletHost(bool withUserInterface = true, HttpMessageHandler? service = null)
    {
        Clock = new TestClock();
        Service = new FakeService(Clock);
        DataDirectory = Directory.CreateTempSubdirectory("mert-inproc-").FullName;
        Host = new TestHost(withUserInterface);
        // A Retry-After gate of its own: a 429 in one test holds no other test's requests (the process's gate is shared).
        Factory = new ClientFactory(service ?? Service, Clock, DataDirectory, new RetryAfterGate());

        var state = InitialSessionState.CreateDefault2();
        foreach (var type in typeof(MertCmdlet).Assembly.GetExportedTypes())
            if (type.GetCustomAttribute<CmdletAttribute>() is { } cmdlet)
                state.Commands.Add(new SessionStateCmdletEntry($"{cmdlet.VerbName}-{cmdlet.NounName}", type, null));
        // Constant and in every scope: a script cannot shadow it with a local $null and reach the real service.
        state.Variables.Add(new SessionStateVariableEntry(ClientFactory.VariableName, Factory, "the in-process tests' fakes",
            ScopedItemOptions.Constant | ScopedItemOptions.AllScope));
        _runspace = RunspaceFactory.CreateRunspace(Host, state);
        _runspace.Open();
        // The token goes the way a user passes one (-Token), so the machine's HF_TOKEN never matters here.
        Invoke("param($t) $PSDefaultParameterValues['*-MertEndpoint*:Token'] = $t", SecureToken(FakeService.Token));
    }

    public TestClock Clock { get; }
    public FakeService Service { get; }
    public TestHost Host { get; }
    public ClientFactory Factory { get; }
    public string DataDirectory { get; }
    public Runspace Runspace => _runspace;

    public static SecureString SecureToken(string token)
    {
        var secure = new SecureString();
        foreach (char c in token) secure.AppendChar(c);
        secure.MakeReadOnly();
        return secure;
    }

    /// <summary>A pipeline on this runspace, not started.</summary>
    public System.Management.Automation.PowerShell Create(string script, params object[] arguments)
    {
        var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _runspace;
        ps.AddScript(script);
        foreach (var a in arguments) ps.AddArgument(a);
        return ps;
    }

    /// <summary>Runs a script with no fake time passing (it must not wait on the clock).</summary>
    public Collection<PSObject> Invoke(string script, params object[] arguments)
    {
        using var ps = Create(script, arguments);
        return ps.Invoke();
    }

    /// <summary>
    /// Runs a script while the fake clock moves each time the code waits on it, bounded in fake time and in wall time.
    /// Errors stay in the result's Errors (non-terminating) or come out as the exception (terminating).
    /// </summary>
    public async Task<Run> RunAsync(string script, params object[] arguments)
    {
        var ps = Create(script, arguments);
        var run = new Run(ps);
        var output = new PSDataCollection<PSObject>();
        var invoking = Task.Factory.StartNew(() => ps.Invoke(null, output), TaskCreationOptions.LongRunning);
        try
        {
            await Clock.Drive(invoking, TimeSpan.FromHours(3)).WaitAsync(RunBound);
        }
        catch (RuntimeException ex)
        {
            run.Terminating = ex;
        }
        run.Output = new Collection<PSObject>(output.ToList());
        return run;
    }

    /// <summary>
    /// Waits (bounded) for a pipeline that was stopped with PowerShell.Stop() to end, and checks that it ended as stopped.
    /// </summary>
    public static async Task AssertStopped(System.Management.Automation.PowerShell ps, Task invoking)
    {
        Exception? ended = null;
        try { await invoking.WaitAsync(Bound); }
        catch (PipelineStoppedException) { }
        catch (Exception ex) { ended = ex; }
        var info = ps.InvocationStateInfo;
        // The reason and the errors say which way it ended when it did not stop (seen once in about 30 runs, unexplained).
        Assert.True(ended == null && info.State == PSInvocationState.Stopped, $"The pipeline ended {info.State}, not Stopped: {info.Reason}\n"
            + (ended != null ? $"waiting for it: {ended}\n" : "") + string.Join("\n", ps.Streams.Error.Select(e => e.ToString())));
    }

    /// <summary>
    /// Waits (bounded) for a pipeline to end and returns its first error: the terminating one if it threw, else the first
    /// in its error stream; null when it ended without one.
    /// </summary>
    public static async Task<ErrorRecord?> FirstError(System.Management.Automation.PowerShell ps, Task invoking)
    {
        try { await invoking.WaitAsync(Bound); }
        catch (RuntimeException ex) { return ex.ErrorRecord; }
        return ps.Streams.Error.FirstOrDefault();
    }

    public void Dispose()
    {
        _runspace.Dispose();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }
}

/// <summary>The outcome of one script: output, the error stream, the terminating error if any, warnings and verbose.</summary>
public sealed class Run(System.Management.Automation.PowerShell ps)
{
    public System.Management.Automation.PowerShell PowerShell { get; } = ps;
    public Collection<PSObject> Output { get; set; } = [];
    public RuntimeException? Terminating { get; set; }
    public IReadOnlyList<ErrorRecord> Errors => PowerShell.Streams.Error.ToList();
    public IReadOnlyList<string> Warnings => PowerShell.Streams.Warning.Select(w => w.Message).ToList();
    public IReadOnlyList<string> Verbose => PowerShell.Streams.Verbose.Select(w => w.Message).ToList();
    public IReadOnlyList<string> Information => PowerShell.Streams.Information.Select(i => i.MessageData?.ToString() ?? "").ToList();
    public IEnumerable<string> Names => Output.Select(o => o.BaseObject).OfType<EndpointInfo>().Select(e => e.Name);

    /// <summary>Fails naming every error (with its id) when there is any.</summary>
    public Run Succeeded()
    {
        Assert.True(AllErrors.Count == 0, string.Join("\n", AllErrors.Select(e => $"{e.FullyQualifiedErrorId}: {e}")));
        return this;
    }

    /// <summary>Every error, the terminating one included.</summary>
    public IReadOnlyList<ErrorRecord> AllErrors =>
        Terminating?.ErrorRecord is { } t ? Errors.Append(t).ToList() : Errors;
}
