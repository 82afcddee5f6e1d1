using System;

namespace MertEndpoint
{
    // What a process told to end says about each pause it owed: one line on stderr per endpoint, since no pipeline is
    // left to write to. Kept beside the rest of the vocabulary in Errors.cs.
    internal static partial class Errors
    {
        /// <summary>Said once per process by a Use-MertEndpoint run unattended on an endpoint the service never scales down.</summary>
        public static string UnattendedNoIdleTimeout(EndpointInfo e) =>
            $"{Capital(e.Id.Subject)} has no idle timeout on the service side "
            + (e.MinReplica > 0 ? $"(min replicas {e.MinReplica})" : "(no scale-to-zero timeout)")
            + ". This session is not interactive: this command pauses it when the block ends, and on SIGTERM or SIGHUP, "
            + "but only the service's own idle timeout survives a SIGKILL or an out-of-memory kill. Set one once: "
            + $"Set-MertEndpoint{e.Id.Arguments} -MinReplica 0 -IdleTimeout 00:15:00 (or pass the same -IdleTimeout here).";

        public static string SignalPaused(EndpointId id, string why, string state, bool readBack) =>
            $"MertEndpoint: {id.Subject}: paused on {why} ({(readBack ? "a read shows it" : "the service answered")} {state}).";

        public static string SignalPauseGone(EndpointId id, string why) =>
            $"MertEndpoint: {id.Subject}: no longer exists (404) on {why}; nothing bills.";

        public static string SignalPauseUnconfirmed(EndpointId id, string why, string state) =>
            $"MertEndpoint: {Capital(id.Subject)} MAY STILL BE BILLING: the pause sent on {why} was answered, but a read still shows {state}. "
            + $"Stop it now: Stop-MertEndpoint{id.Arguments}";

        public static string SignalPauseFailed(EndpointId id, string why, Exception failure) =>
            $"MertEndpoint: {Capital(id.Subject)} MAY STILL BE BILLING: the pause sent on {why} failed ({Innermost(failure).Message.TrimEnd('.')}). "
            + $"Stop it now: Stop-MertEndpoint{id.Arguments}";

        /// <summary>A pause or scale to zero the user asked for, abandoned by a stop (Ctrl+C) before a read confirmed it.</summary>
        public static string StopAbandoned(EndpointId id, bool scaleToZero) =>
            $"{Capital(id.Subject)} MAY STILL BE BILLING: the {(scaleToZero ? "scale to zero" : "pause")} was stopped before a read confirmed it, "
            + $"so whether it landed is not known. Check it: Get-MertEndpoint{id.Arguments}; stop it: Stop-MertEndpoint{id.Arguments}{(scaleToZero ? " -ScaleToZero" : "")}";

        /// <summary>A create abandoned by a stop (Ctrl+C) before its answer: it may have reached the service.</summary>
        public static string CreateAbandoned(EndpointId id) =>
            $"{Capital(id.Subject)} MAY BE BILLING: the create was stopped before the service answered, so it may exist. "
            + $"Check it: Get-MertEndpoint{id.Arguments}; remove it: Remove-MertEndpoint{id.Arguments}";

        /// <summary>A delete abandoned by a stop (Ctrl+C) before a read showed it gone: the endpoint may still be there, and bill.</summary>
        public static string DeleteAbandoned(EndpointId id) =>
            $"{Capital(id.Subject)} MAY STILL EXIST (and bill, if it runs): the delete was stopped before a read showed it gone. "
            + $"Check it: Get-MertEndpoint{id.Arguments}; delete it: Remove-MertEndpoint{id.Arguments}";

        public static string SignalPauseUnknown(EndpointId id, string why) =>
            $"MertEndpoint: {Capital(id.Subject)} MAY STILL BE BILLING: the pause sent on {why} had no answer before the process had to end. "
            + $"Stop it now: Stop-MertEndpoint{id.Arguments}";
    }
}
