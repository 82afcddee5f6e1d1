// Empty: this project exists only to be published with PublishReadyToRun (see ReadyToRun.csproj).
internal static class Program
{
    private static void Main() { }
}
