using MertEndpoint;

namespace MertEndpoint.Tests;

/// <summary>A reporter that keeps what it was told (any thread), for tests; <see cref="Failing"/> fails the test on any warning.</summary>
internal sealed class Lines : Reporter
{
    private readonly List<(string Kind, string Line)> _said = [];
    private readonly List<WaitProgress> _progress = [];
    private readonly bool _failOnWarning;

    public Lines(bool failOnWarning = false) => _failOnWarning = failOnWarning;

    public static Lines Failing() => new(failOnWarning: true);

    public List<string> All { get { lock (_said) return _said.Select(s => s.Line).ToList(); } }
    public List<string> Of(string kind) { lock (_said) return _said.Where(s => s.Kind == kind).Select(s => s.Line).ToList(); }
    public List<WaitProgress> Progressed { get { lock (_progress) return [.. _progress]; } }

    private void Add(string kind, string line) { lock (_said) _said.Add((kind, line)); }

    public override void Detail(string line) => Add("detail", line);
    public override void Waiting(string line, TimeSpan wait) => Add("waiting", line);
    public override void Progress(WaitProgress progress) { lock (_progress) _progress.Add(progress); }
    public override void Warning(string line)
    {
        if (_failOnWarning) throw new Xunit.Sdk.XunitException(line);
        Add("warning", line);
    }
    public override void Notice(string line) => Add("notice", line);
    public override void Summary(string line) => Add("summary", line);
}
