using System.Collections.Concurrent;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace MertEndpoint.PowerShell.Tests;

/// <summary>
/// A minimal PSHost: prompts (ShouldProcess with -Confirm, ShouldContinue) are answered from <see cref="Answers"/> and
/// recorded; what the host is told to write is kept. Without a user interface it is a host that cannot prompt.
/// </summary>
public sealed class TestHost(bool withUserInterface) : PSHost
{
    private readonly TestHostUI? _ui = withUserInterface ? new TestHostUI() : null;

    public override string Name => "MertEndpointTestHost";
    public override Version Version => new(1, 0);
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
    public override PSHostUserInterface? UI => _ui;

    /// <summary>The choice labels to answer with, in order ("&amp;Yes", "&amp;No", ...: matched without the ampersand).</summary>
    public ConcurrentQueue<string> Answers => _ui!.Answers;
    public IReadOnlyList<string> Prompts => _ui!.Prompts.ToList();
    public IReadOnlyList<string> HostLines => _ui!.Lines.ToList();

    public override void EnterNestedPrompt() => throw new NotSupportedException();
    public override void ExitNestedPrompt() => throw new NotSupportedException();
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
    public override void SetShouldExit(int exitCode) => ExitCode = exitCode;

    /// <summary>What an exit at the top level asked for, if it reached the host.</summary>
    public int? ExitCode { get; private set; }

    private sealed class TestHostUI : PSHostUserInterface
    {
        public ConcurrentQueue<string> Answers { get; } = new();
        public ConcurrentQueue<string> Prompts { get; } = new();
        public ConcurrentQueue<string> Lines { get; } = new();

        public override PSHostRawUserInterface? RawUI => null;

        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
        {
            Prompts.Enqueue(caption + ": " + message);
            if (!Answers.TryDequeue(out var answer))
                throw new InvalidOperationException($"Unexpected prompt: {caption}: {message}");
            int index = choices.ToList().FindIndex(c => c.Label.Replace("&", "") == answer);
            if (index < 0) throw new InvalidOperationException($"No choice '{answer}' in: {string.Join(", ", choices.Select(c => c.Label))}");
            return index;
        }

        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) =>
            throw new InvalidOperationException($"Unexpected prompt: {caption}: {message}");
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
            throw new InvalidOperationException("Unexpected credential prompt");
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
            PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) =>
            throw new InvalidOperationException("Unexpected credential prompt");
        public override string ReadLine() => throw new InvalidOperationException("Unexpected ReadLine");
        public override SecureString ReadLineAsSecureString() => throw new InvalidOperationException("Unexpected ReadLine");

        public override void Write(string value) => Lines.Enqueue(value);
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Lines.Enqueue(value);
        public override void WriteLine(string value) => Lines.Enqueue(value);
        public override void WriteErrorLine(string value) => Lines.Enqueue("ERROR: " + value);
        public override void WriteWarningLine(string message) => Lines.Enqueue("WARNING: " + message);
        public override void WriteVerboseLine(string message) => Lines.Enqueue("VERBOSE: " + message);
        public override void WriteDebugLine(string message) => Lines.Enqueue("DEBUG: " + message);
        public override void WriteProgress(long sourceId, ProgressRecord record) { }
    }
}
