using System.Globalization;
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;

namespace MertEndpoint
{
    public enum EndpointErrorKind
    {
        TokenNotFound, Unauthorized, Forbidden, EndpointNotFound, EndpointAlreadyExists,
        InvalidRequest, RateLimited, ServiceUnavailable, EndpointFailed, WaitTimeout, EndpointNotReady,
        InvalidEndpointName, InvalidArgument, InvalidConfiguration, Unknown,
        /// <summary>The endpoint's own model or container failed on the input (a 500 from its data plane).</summary>
        ModelError,
        /// <summary>A pause this module owed (after a failed or cancelled start, at the end of Use) failed, or a delete answered 2xx is still shown billing: the endpoint may still bill.</summary>
        EndpointStillBilling,
        /// <summary>A 409 on anything but a create (pause, resume, scale to zero, update): the endpoint is changing state.</summary>
        EndpointConflict,
        /// <summary>A delete the service answered, but reads for the stale-read grace after it still show the endpoint, in a state that does not bill (one that bills is EndpointStillBilling).</summary>
        EndpointNotDeleted,
        /// <summary>An update the service answered, but reads for the stale-read grace after it do not show the replicas or idle timeout it sent.</summary>
        EndpointNotUpdated,
        /// <summary>The token has characters no HTTP header can carry (a line break, a control or non-ASCII character): refused before any request.</summary>
        InvalidToken,

        // Arguments and files the cmdlets refuse before (or instead of) a request. Every id is a member here, so the
        // list of ids the module can emit is this enum (the README's error table is checked against it).
        /// <summary>A wildcard given to a cmdlet that acts on exact names.</summary>
        WildcardNotAllowed,
        /// <summary>An update with nothing to change.</summary>
        NoChange,
        /// <summary>-Since not before -Until.</summary>
        InvalidPeriod,
        /// <summary>-Follow with -Until.</summary>
        FollowWithUntil,
        /// <summary>Invoke-MertEndpoint without files or -Body.</summary>
        NothingToSend,
        /// <summary>Invoke-MertEndpoint -Body with files.</summary>
        BodyWithFiles,
        /// <summary>Invoke-MertEndpoint -Body with -OutDirectory.</summary>
        BodyWithOutDirectory,
        /// <summary>-ContentType that is not a media type.</summary>
        InvalidContentType,
        /// <summary>A path that is not a valid file system path.</summary>
        InvalidPath,
        /// <summary>An input file that does not exist.</summary>
        FileNotFound,
        /// <summary>An input outside -BaseDirectory (with -OutDirectory).</summary>
        OutsideBaseDirectory,
        /// <summary>An input file that could not be read.</summary>
        InputReadFailed,
        /// <summary>An answer that could not be written under -OutDirectory.</summary>
        OutputWriteFailed,
        /// <summary>A 2xx from the model whose body is not what -OutDirectory saves (an HTML page, a cut or unreadable JSON body): not saved.</summary>
        UnexpectedAnswer,
        /// <summary>A confirmation was needed and the session cannot prompt.</summary>
        ConfirmationRequired,
        /// <summary>Use-MertEndpoint's block ran past -MaxDuration.</summary>
        MaxDurationExceeded,
        /// <summary>-MaxDuration zero or negative.</summary>
        InvalidMaxDuration,
        /// <summary>Test-MertEndpointSetup found a problem with the setup (one error per problem; the cause is the inner exception).</summary>
        SetupIncomplete,
        /// <summary>An ordinary command (one that does not wait on purpose) ran past MERT_ENDPOINT_COMMAND_TIMEOUT_SEC.</summary>
        CommandTimedOut,
        /// <summary>Optimize-MertEndpointHistory could not compact the usage history (the file or its lock; the old file stays as it was).</summary>
        HistoryNotCompacted,
    }

    /// <summary>
    /// Which endpoint (or namespace) something is about: the one identity every error record carries as its target
    /// and every message names. <see cref="Name"/> is null for a whole namespace; <see cref="Namespace"/> is null
    /// before it was resolved (a name refused before any request).
    /// </summary>
    public sealed class EndpointId : IEquatable<EndpointId>
    {
        public EndpointId(string? @namespace, string? name)
        {
            Namespace = @namespace;
            Name = name;
        }

        public string? Namespace { get; }
        public string? Name { get; }

        /// <summary>"ns/name", or whichever part is known.</summary>
        public override string ToString() =>
            Namespace != null && Name != null ? Namespace + "/" + Name : Name ?? Namespace ?? "";

        public bool Equals(EndpointId? other) => other != null && other.Namespace == Namespace && other.Name == Name;
        public override bool Equals(object? obj) => Equals(obj as EndpointId);
        public override int GetHashCode() => ToString().GetHashCode();

        /// <summary>How a sentence names it: "endpoint 'x' in namespace 'ns'".</summary>
        internal string Subject =>
            Name != null && Namespace != null ? $"endpoint '{Name}' in namespace '{Namespace}'"
            : Name != null ? $"endpoint '{Name}'"
            : Namespace != null ? $"namespace '{Namespace}'"
            : "";

        /// <summary>The arguments that name it on a command line: " x -Namespace ns".</summary>
        internal string Arguments => (Name != null ? " " + Name : " <name>") + (Namespace != null ? " -Namespace " + Namespace : "");
    }

    /// <summary>
    /// The one exception type Core throws for service and usage errors. The message says which endpoint,
    /// what happened and what to do next; it never contains the token.
    /// </summary>
    public class EndpointException : Exception
    {
        public EndpointException(EndpointErrorKind kind, string message, Exception? innerException = null)
            : base(Secrets.Mask(message), innerException)
        {
            Kind = kind;
        }

        internal EndpointException(EndpointErrorKind kind, string message, EndpointId? target,
            int? statusCode = null, string? serviceMessage = null, string? requestId = null,
            EndpointInfo? endpoint = null, Exception? innerException = null)
            : base(Secrets.Mask(message), innerException)
        {
            Kind = kind;
            Target = target;
            StatusCode = statusCode;
            ServiceMessage = Secrets.MaskOrNull(serviceMessage);
            RequestId = requestId;
            Endpoint = endpoint;
        }

        public EndpointErrorKind Kind { get; }
        /// <summary>The endpoint or namespace it is about, when known.</summary>
        public EndpointId? Target { get; }
        public int? StatusCode { get; }
        /// <summary>The service's own words: body "error" or the X-Error-Message header.</summary>
        public string? ServiceMessage { get; }
        /// <summary>X-Request-Id, for support requests.</summary>
        public string? RequestId { get; }
        public string? Namespace => Target?.Namespace;
        public string? EndpointName => Target?.Name;
        /// <summary>Last seen state, when known (waits).</summary>
        public EndpointInfo? Endpoint { get; }
        /// <summary>How long the service asked to wait before the next try (Retry-After), when it said.</summary>
        public TimeSpan? RetryAfter { get; internal set; }
        /// <summary>The endpoint's last log lines, read as evidence when a start or a wait ended in a failed state; null when not read.</summary>
        public IReadOnlyList<EndpointLogLine>? LogTail { get; internal set; }
        /// <summary>Why <see cref="LogTail"/> could not be read, when that was tried and failed.</summary>
        public string? LogTailProblem { get; internal set; }

        /// <summary>The same error with more said: every field is kept, and this one becomes the inner exception.</summary>
        internal EndpointException WithMessage(string message) =>
            new(Kind, message, Target, StatusCode, ServiceMessage, RequestId, Endpoint, this) { RetryAfter = RetryAfter };
    }

    /// <summary>What an operation was acting on; used to word error messages.</summary>
    internal readonly struct Target
    {
        public Target(string verb, string? ns, string? name = null)
        {
            Verb = verb;
            Id = ns == null && name == null ? null : new EndpointId(ns, name);
        }

        /// <summary>Infinitive phrase: "get", "list the endpoints of", "look up the token's account".</summary>
        public string Verb { get; }
        public EndpointId? Id { get; }
        public string? Namespace => Id?.Namespace;
        public string? Name => Id?.Name;

        public string Action => Id == null ? Verb : $"{Verb} {Id.Subject}";

        /// <summary>A create: the one operation whose 409 means the name is taken (any other 409 is a state conflict).</summary>
        public bool Creates => Verb == "create";
    }

    /// <summary>The wording of every error the module reports, in one place.</summary>
    internal static partial class Errors
    {
        // ---- control plane answers ----

        public static EndpointException FromStatus(Target t, int status, string? serviceMessage, string? requestId, int attempts)
        {
            (EndpointErrorKind kind, string what) = status switch
            {
                400 or 422 => (EndpointErrorKind.InvalidRequest,
                    $"the service rejected the request ({status}). Check the values you passed"),
                401 => (EndpointErrorKind.Unauthorized,
                    "the token was not accepted (401 Unauthorized). Check the token: set HF_TOKEN or pass -Token"
                    + (t.Namespace != null ? "; a namespace without billing or access also answers 401" : "")),
                403 => (EndpointErrorKind.Forbidden, "access was denied (403 Forbidden). " + (t.Namespace != null
                    ? $"Check that the token may manage endpoints in namespace '{t.Namespace}' and that its quota allows the request"
                    : "Check the token's permissions")),
                404 when t.Name != null => (EndpointErrorKind.EndpointNotFound,
                    $"it was not found (404). Check the name with Get-MertEndpoint -Namespace {t.Namespace}"),
                404 when t.Namespace != null => (EndpointErrorKind.EndpointNotFound,
                    "it was not found (404). Check the -Namespace value and MERT_ENDPOINT_API_URL"),
                404 => (EndpointErrorKind.EndpointNotFound, "the service answered 404. Check HF_ENDPOINT"),
                409 when t.Creates => (EndpointErrorKind.EndpointAlreadyExists,
                    "an endpoint with this name already exists (409). Choose another name or use Start-MertEndpoint to start the existing one"),
                409 => (EndpointErrorKind.EndpointConflict,
                    "the service refused it (409 Conflict): the endpoint is changing state (starting, stopping or applying an update). "
                    + $"Wait until Get-MertEndpoint{t.Id?.Arguments ?? " <name>"} shows it settled, then try again"),
                429 => (EndpointErrorKind.RateLimited,
                    $"the service kept rate limiting the requests (429) after {Plural(attempts, "attempt")}. Wait a minute, then try again"),
                >= 500 => (EndpointErrorKind.ServiceUnavailable,
                    $"the service kept failing ({status}) after {Plural(attempts, "attempt")}. Try again in a few minutes"),
                _ => (EndpointErrorKind.Unknown, $"the service gave an unexpected answer ({status})"),
            };
            return new EndpointException(kind, Compose(t, what, serviceMessage, requestId), t.Id, status, serviceMessage, requestId);
        }

        public static EndpointException Unreachable(Target t, Uri uri, Exception ex, int attempts, TimeSpan attemptTimeout)
        {
            string what = ex is TimeoutException
                ? $"{uri.Host} did not answer ({ex.Message}), {Plural(attempts, "attempt")} made. Try again later"
                : $"{uri.Host} could not be reached after {Plural(attempts, "attempt")} ({Innermost(ex).Message.TrimEnd('.')}). Check the network connection and MERT_ENDPOINT_API_URL / HF_ENDPOINT";
            return new EndpointException(EndpointErrorKind.ServiceUnavailable, Compose(t, what, null, null), t.Id, innerException: ex);
        }

        public static EndpointException UnexpectedBody(Target t, int status, string? contentType, string? excerpt, string? requestId, Exception ex) =>
            new(EndpointErrorKind.ServiceUnavailable,
                Compose(t, $"the service answered {status} with a body that could not be read as the JSON expected ({contentType ?? "no content type"}"
                    + (excerpt != null ? $": \"{excerpt}\"" : ", empty") + "), as a proxy or a broken answer does. Try again later, and check MERT_ENDPOINT_API_URL", null, requestId),
                t.Id, status, null, requestId, innerException: ex);

        // ---- arguments and configuration ----

        public static EndpointException InvalidName(string? name) =>
            new(EndpointErrorKind.InvalidEndpointName,
                $"'{name}' is not a valid endpoint name. Use 1 to 32 lowercase letters, digits and '-', "
                + "starting and ending with a letter or digit (for example 'mert-embeddings').",
                new EndpointId(null, name));

        public static EndpointException Empty(string parameter) =>
            new(EndpointErrorKind.InvalidArgument, $"The {parameter} is empty. Pass -{parameter}.");

        public static EndpointException TokenNotFound(string tokenFile) =>
            new(EndpointErrorKind.TokenNotFound,
                "No Hugging Face token found. Pass -Token, set the HF_TOKEN environment variable, or save one to "
                + $"'{tokenFile}' (for example with 'hf auth login'). Create a token at https://huggingface.co/settings/tokens.");

        public static EndpointException EmptyToken() =>
            new(EndpointErrorKind.TokenNotFound, "The token is empty. Pass -Token or set HF_TOKEN.");

        /// <summary>An explicit -Token that is empty: never fall back silently to whatever account the environment holds.</summary>
        public static EndpointException EmptyTokenParameter() =>
            new(EndpointErrorKind.TokenNotFound,
                "The -Token given is empty. Pass a real token, or leave -Token out to use HF_TOKEN, HUGGING_FACE_HUB_TOKEN or the token file.");

        /// <summary>
        /// A token no HTTP header can carry, refused before any request. Says where it came from, which kind of character
        /// and where (the 1-based position), and how to fix that source; never the token nor its characters.
        /// </summary>
        public static EndpointException InvalidToken(TokenSource source, string? path, char bad, int position)
        {
            string what = bad switch
            {
                '\n' or '\r' => "a line break",
                '\t' => "a tab",
                _ when char.IsControl(bad) => $"a control character (U+{(int)bad:X4})",
                _ => $"a non-ASCII character (U+{(int)bad:X4}; a typographic quote or a non-breaking space, say)",
            };
            (string from, string fix) = source switch
            {
                TokenSource.Parameter => ("-Token", "Pass the token alone: -Token (Read-Host -AsSecureString), then paste only the token"),
                TokenSource.HfToken or TokenSource.HuggingFaceHubToken => ($"the {source.VariableName()} environment variable",
                    $"Set {source.VariableName()} to the token alone (for example $env:{source.VariableName()} = 'hf_...'), or remove it to use the next source"),
                TokenSource.File => ($"the token file '{path}'",
                    "Write the token alone into that file ('hf auth login' does), or point HF_TOKEN_PATH at another file"),
                _ => ("the token given to the client", "Pass the token alone"),
            };
            return new EndpointException(EndpointErrorKind.InvalidToken,
                $"The token from {from} has {what} at position {position}, which cannot be sent in an HTTP header, so no request was sent. "
                + fix + " (surrounding spaces and line breaks are ignored). Copy the token again from https://huggingface.co/settings/tokens if unsure.");
        }

        public static EndpointException InvalidSegment(string parameter, string? value) =>
            new(EndpointErrorKind.InvalidArgument,
                $"-{parameter} '{value}' is not valid: it must not be empty, '.' or '..', nor contain '/', '\\' or control characters.");

        public static EndpointException InvalidRoute(string parameter, string route, string problem) =>
            new(EndpointErrorKind.InvalidArgument,
                $"-{parameter} '{route}' is not valid: {problem}. Give a path under the endpoint's URL, such as '/embed' or '/v1/predict'.");

        public static EndpointException InvalidEnvEntry(string parameter, string key, string problem) =>
            new(EndpointErrorKind.InvalidArgument,
                $"-{parameter} key '{key}' {problem}. Keys are letters, digits, '_', '-' and '.', not starting with a digit; every key needs a value.");

        public static EndpointException BodyTooDeep(int limit) =>
            new(EndpointErrorKind.InvalidArgument,
                $"-Body is nested deeper than {limit} levels, the limit of the JSON conversion, so it would be cut. Flatten it, or pass the JSON text yourself as a string.");

        public static EndpointException InvalidSetting(string settingName, string problem) =>
            new(EndpointErrorKind.InvalidConfiguration, $"Invalid {settingName}: {problem}. Fix or unset {settingName}.");

        /// <summary>
        /// A namespace-wide refusal (401, 403, 404) of a token the Hub accepts: the namespace is not one of the token's,
        /// or one it cannot use for endpoints. Names the namespaces the token does have.
        /// </summary>
        public static EndpointException NamespaceNotUsable(EndpointException ex, string ns, WhoAmI me)
        {
            bool mine = string.Equals(ns, me.Name, StringComparison.Ordinal) || me.Orgs.Contains(ns, StringComparer.Ordinal);
            string yours = $"'{me.Name}' (the token's {(me.Type.Length > 0 ? me.Type : "account")})"
                + (me.Orgs.Count > 0 ? " and its organizations " + string.Join(", ", me.Orgs.Select(o => $"'{o}'")) : " (it belongs to no organization)");
            string what = mine
                ? $"Namespace '{ns}' is one of the token's, but the service refused it ({ex.StatusCode}): the organization may have no billing for Inference Endpoints, or the token no permission to manage them there (a fine-grained token needs it). The token's namespaces: {yours}."
                : $"Namespace '{ns}' is not one the token can use: it is neither the token's user nor one of its organizations. The token's namespaces: {yours}. Pass one of those to -Namespace (or '*' to Get-MertEndpoint for all of them).";
            return new EndpointException(ex.Kind, what + Tail(ex.ServiceMessage, ex.RequestId), ex.Target, ex.StatusCode, ex.ServiceMessage, ex.RequestId, ex.Endpoint, ex);
        }

        /// <summary>A warning of a listing of every namespace ('*'): one namespace could not be read, the others are listed.</summary>
        public static string SkippedNamespace(string ns, EndpointException ex) => $"Skipped namespace '{ns}': {ex.Message}";

        public static EndpointException NoNamespaceWildcard(string command) =>
            new(EndpointErrorKind.InvalidArgument,
                $"-Namespace '*' (every namespace of the token) is for Get-MertEndpoint and Get-MertEndpointCost; {command} acts on one namespace. " +
                $"To act on endpoints of several namespaces, pipe them: Get-MertEndpoint -Namespace '*' | {command}");

        public static EndpointException QualifiedNameConflict(string qualified, string ns) =>
            new(EndpointErrorKind.InvalidArgument,
                $"'{qualified}' names namespace '{qualified.Substring(0, qualified.IndexOf('/'))}', but -Namespace says '{ns}'. " +
                $"Give one of them: -Name {qualified.Substring(qualified.IndexOf('/') + 1)} -Namespace {ns}, or '{qualified}' alone.",
                new EndpointId(ns, qualified));

        public static EndpointException NoDefaultNamespace(WhoAmI me, string variable)
        {
            string orgs = me.Orgs.Count > 0 ? $" (its organizations: {string.Join(", ", me.Orgs)})" : "";
            return new EndpointException(EndpointErrorKind.InvalidArgument,
                $"No namespace given, and the token belongs to {(me.Type.Length > 0 ? me.Type : "an account")} '{me.Name}', "
                + $"not a user, so it has no default namespace{orgs}. Pass -Namespace or set {variable}.");
        }

        public static EndpointException InvalidReplicas(Target t, int min, int max) =>
            Argument(t, $"replicas must satisfy 0 <= MinReplica <= MaxReplica and MaxReplica >= 1 (got {min}..{max})");

        public static EndpointException ImageHasCredentials(Target t) =>
            Argument(t, "its image has registry credentials, which the service never returns, so resending the image would drop them. Change the image in the Hugging Face UI");

        public static EndpointException ImageNotCustom(Target t, string? kind) =>
            Argument(t, $"its image is '{kind}', not a custom container, so the port and health route cannot be changed alone. Pass -ImageUrl as well");

        public static EndpointException CustomNeedsImage(string name) =>
            new(EndpointErrorKind.InvalidArgument,
                $"Endpoint '{name}' asks for a custom container but names no image. Pass -ImageUrl, or leave out -Container to deploy the service's default container for the task.",
                new EndpointId(null, name));

        public static EndpointException CredentialNeedsCustom(string name, string kind) =>
            new(EndpointErrorKind.InvalidArgument,
                $"Endpoint '{name}': -RegistryCredential is for a private custom image, and the container is '{kind}'. Pass -ImageUrl with -Container custom, or leave out -RegistryCredential.",
                new EndpointId(null, name));

        /// <summary>A cmdlet that changes state was given a wildcard: a typo must never act on many endpoints.</summary>
        public static EndpointException WildcardNotAllowed(string name, string command) =>
            new(EndpointErrorKind.WildcardNotAllowed,
                $"'{name}' contains wildcard characters; {command} acts on exact names only. " +
                $"To act on several endpoints, pipe them: Get-MertEndpoint '{name}' | {command}", new EndpointId(null, name));

        public static EndpointException NoChange() =>
            new(EndpointErrorKind.NoChange, "Nothing to change: give at least one setting, e.g. -MaxReplica 2 or -IdleTimeout 00:30:00.");

        /// <summary>Remove-MertEndpoint asks before deleting, and this session cannot ask.</summary>
        public static EndpointException ConfirmationRequired(EndpointId target, string command, Exception inner) =>
            new(EndpointErrorKind.ConfirmationRequired,
                $"{command} asks before deleting {target}, but this session cannot prompt (non-interactive). " +
                "To delete without a question, pass -Force (or -Confirm:$false).", target, innerException: inner);

        // ---- Invoke-MertEndpoint's inputs and outputs ----

        public static EndpointException BodyWithFiles() =>
            new(EndpointErrorKind.BodyWithFiles, "-Body sends one JSON request; it cannot be combined with files from the pipeline or -InFile.");

        public static EndpointException NothingToSend() =>
            new(EndpointErrorKind.NothingToSend, "Nothing to send: pipe files (Get-ChildItem *.wav | Invoke-MertEndpoint ...), or pass -InFile or -Body.");

        public static EndpointException BodyWithOutDirectory() =>
            new(EndpointErrorKind.BodyWithOutDirectory, "-OutDirectory names each answer after its input file; with -Body, capture the output instead.");

        public static EndpointException InvalidContentType(string contentType) =>
            new(EndpointErrorKind.InvalidContentType, $"'{contentType}' is not a valid content type (for example audio/wav or application/json).");

        /// <summary>What a path outside the file system is told (a registry or variable drive, say).</summary>
        public static string NotFileSystemPath(string path) => $"'{path}' is not a file system path.";

        /// <summary>A path that cannot be used: <paramref name="what"/> names it ("-OutDirectory or -BaseDirectory", or the input).</summary>
        public static EndpointException InvalidPath(string what, Exception ex) =>
            new(EndpointErrorKind.InvalidPath, $"{what}: {ex.Message.TrimEnd('.')}. Give a literal file system path (wildcards are not expanded).", ex);

        public static EndpointException FileNotFound(string path) =>
            new(EndpointErrorKind.FileNotFound, $"Could not send '{path}': the file does not exist.", new FileNotFoundException(null, path));

        public static EndpointException OutsideBaseDirectory(string path, string baseDirectory) =>
            new(EndpointErrorKind.OutsideBaseDirectory,
                $"Could not send '{path}': it is not under the base directory '{baseDirectory}', so its output name would be ambiguous. Pass -BaseDirectory with a folder that holds every input.");

        public static EndpointException InputReadFailed(string input, Exception ex) =>
            new(EndpointErrorKind.InputReadFailed, $"Could not read '{input}': {ex.Message}", ex);

        public static EndpointException UnexpectedAnswer(string input, int status, string? contentType, string why) =>
            new(EndpointErrorKind.UnexpectedAnswer,
                $"The answer for '{input}' ({status}, {contentType ?? "no content type"}) was not saved: {why}. A proxy page or a cut answer "
                + "is not an embedding; run the command again to send this file again (answers already written are skipped).");

        public static EndpointException OutputWriteFailed(string input, string outputPath, Exception ex) =>
            new(EndpointErrorKind.OutputWriteFailed,
                $"Could not write the answer for '{input}' to '{outputPath}': {ex.Message}. Nothing more is sent; fix the output folder and run the command again (answers already written are skipped).", ex);

        private static EndpointException Argument(Target t, string what) =>
            new(EndpointErrorKind.InvalidArgument, Compose(t, what, null, null), t.Id);

        // ---- the lifecycle ----

        /// <summary>A 404 for one name, with the close names of its namespace; no hint to create it under a typo.</summary>
        public static EndpointException NotFoundWithSuggestions(EndpointException notFound, IReadOnlyList<string> close)
        {
            var id = notFound.Target!;
            string options = close.Count == 1 ? $"'{close[0]}'"
                : string.Join(", ", close.Take(close.Count - 1).Select(c => $"'{c}'")) + $" or '{close[close.Count - 1]}'";
            string message = $"Endpoint '{id.Name}' was not found in namespace '{id.Namespace}' (404). Did you mean {options}? "
                + $"List them with Get-MertEndpoint -Namespace {id.Namespace}."
                + (notFound.RequestId != null ? $" (request id {notFound.RequestId})" : "");
            return new EndpointException(EndpointErrorKind.EndpointNotFound, message, id, statusCode: notFound.StatusCode ?? 404,
                serviceMessage: notFound.ServiceMessage, requestId: notFound.RequestId, innerException: notFound);
        }

        /// <summary>A pause (or scale to zero) that was answered but that reads throughout the stale-read grace do not show done.</summary>
        public static EndpointException NotConfirmedStopped(EndpointId id, string verb, string state, TimeSpan grace, string? before) =>
            new(EndpointErrorKind.EndpointStillBilling,
                (before != null ? before.TrimEnd() + " " : "")
                + $"{Capital(id.Subject)} MAY STILL BE BILLING: the service answered the {verb}, but reads for {Duration(grace)} after it "
                + $"still show it {state} (the {verb} was sent again once). Stop it now: Stop-MertEndpoint{id.Arguments}",
                id);

        public static EndpointException NotConfirmedDeleted(EndpointId id, EndpointInfo shown, TimeSpan grace, bool resent) =>
            BillingRules.Bills(shown.Status)
                ? new(EndpointErrorKind.EndpointStillBilling,
                    $"{Capital(id.Subject)} MAY STILL BE BILLING: the service answered the delete, but reads for {Duration(grace)} after it "
                    + $"still show it {shown.StatusText}{(resent ? " (the delete was sent again once)" : "")}. Stop it now: Stop-MertEndpoint{id.Arguments}; "
                    + $"then delete it again: Remove-MertEndpoint{id.Arguments}", id)
                : new(EndpointErrorKind.EndpointNotDeleted,
                    $"{Capital(id.Subject)} was not deleted: the service answered the delete, but reads for {Duration(grace)} after it "
                    + $"still show it {shown.StatusText}{(resent ? " (the delete was sent again once)" : "")}; it does not bill while {shown.StatusText}. "
                    + $"Check it: Get-MertEndpoint{id.Arguments}; delete it again: Remove-MertEndpoint{id.Arguments}", id);

        /// <param name="afterResume">The scaling a start puts back after its resume: the start fails (and pauses what it
        /// resumed), so the fix is to start it again, not to set it on a paused endpoint (the next resume resets it).</param>
        public static EndpointException NotConfirmedUpdated(EndpointId id, EndpointUpdateSpec spec, EndpointInfo shown, TimeSpan grace, bool resent,
            bool afterResume = false) =>
            new(EndpointErrorKind.EndpointNotUpdated,
                (afterResume ? $"The start could not put back the scaling of {id.Subject} after its resume" : $"{Capital(id.Subject)} was not updated")
                + $": the service answered the update, but reads for {Duration(grace)} after it show "
                + $"{Scaling(shown.MinReplica, shown.MaxReplica, shown.ScaleToZeroTimeout, true)} instead of "
                + $"{Scaling(spec.MinReplica ?? shown.MinReplica, spec.MaxReplica ?? shown.MaxReplica, spec.ScaleToZeroTimeout, spec.ScaleToZeroTimeout != null)}"
                + $"{(resent ? " (the update was sent again once)" : "")}. "
                + (afterResume ? $"Start it again: Start-MertEndpoint{id.Arguments}" : $"Check it: Get-MertEndpoint{id.Arguments} | Format-List; then set it again."),
                id);

        private static string Scaling(int min, int max, int? idleMinutes, bool sayIdle) =>
            $"replicas {min}-{max}" + (min == 0 && sayIdle ? (idleMinutes is int m ? $" with scale to zero after {m} idle minutes" : " with no idle timeout") : "");

        public static EndpointException NotFoundForStart(string ns, string name) =>
            new(EndpointErrorKind.EndpointNotFound,
                $"Endpoint '{name}' was not found in namespace '{ns}'. " +
                "Check the name with Get-MertEndpoint, or add -CreateIfMissing to create it (with -ImageUrl <image> for a custom container).",
                new EndpointId(ns, name), statusCode: 404);

        public static EndpointException CannotStart(EndpointInfo e) =>
            new(EndpointErrorKind.EndpointFailed,
                $"Endpoint '{e.Name}' in namespace '{e.Namespace}' is in state '{e.StatusText}' and cannot be started. " +
                $"Read why with Get-MertEndpointLog{e.Id.Arguments}, then delete it and create it again." + Tail(e.Message, null),
                e.Id, serviceMessage: e.Message, endpoint: e);

        /// <summary>A state that ends a wait: failed, or paused / scaled to zero (nothing would ever start it).</summary>
        public static EndpointException? Hopeless(EndpointInfo e)
        {
            string? problem = e.Status switch
            {
                EndpointStatus.Failed => $"failed and will not become ready. Read its logs with Get-MertEndpointLog{e.Id.Arguments}, then delete it and create it again",
                EndpointStatus.UpdateFailed => "failed to apply its last update (state updateFailed). Fix the settings with Set-MertEndpoint, or delete it and create it again",
                EndpointStatus.Paused => $"is paused; nothing will start it, so waiting cannot succeed. Run Start-MertEndpoint{e.Id.Arguments}",
                EndpointStatus.ScaledToZero => $"is scaled to zero; nothing will start it, so waiting cannot succeed. Run Start-MertEndpoint{e.Id.Arguments}",
                _ => null,
            };
            if (problem == null) return null;
            bool failed = e.Status is EndpointStatus.Failed or EndpointStatus.UpdateFailed;
            return new EndpointException(failed ? EndpointErrorKind.EndpointFailed : EndpointErrorKind.EndpointNotReady,
                $"Endpoint '{e.Name}' in namespace '{e.Namespace}' {problem}." + Tail(failed ? e.Message : null, null),
                e.Id, serviceMessage: failed ? e.Message : null, endpoint: e);
        }

        public static EndpointException WaitTimeout(string ns, string name, TimeSpan timeout, EndpointInfo? last, Exception inner, string? lastNotice = null)
        {
            string state = last == null ? "no state seen yet"
                : $"last state {last.StatusText}" + (last.Message != null ? $": {last.Message}" : "");
            if (lastNotice != null) state += "; " + lastNotice.TrimEnd('.');
            return new EndpointException(EndpointErrorKind.WaitTimeout,
                $"Endpoint '{name}' in namespace '{ns}' was not ready after {Duration(timeout)} ({state}). "
                + "It may still become ready: run Wait-MertEndpoint again, or allow longer with -Timeout.",
                new EndpointId(ns, name), endpoint: last, innerException: inner);
        }

        /// <summary>Said (verbose, progress) before a call waits to try again.</summary>
        public static string RetryNotice(string? status, TimeSpan? retryAfter, TimeSpan delay, int nextAttempt, int attempts)
        {
            string what = status == null ? "no answer" : $"the service answered {status}";
            if (retryAfter is TimeSpan asked) what += asked > delay ? $" and asked to wait {Duration(asked)} (Retry-After)" : " (Retry-After)";
            return $"{Capital(what)}; trying again in {Duration(delay)} (attempt {nextAttempt} of {attempts}).";
        }

        public const string PausedAgain = "It was paused again so that it stops billing (use -OnFailure Leave to let it keep booting).";

        // ---- what a command did, in one line (Reporter.Summary) ----

        /// <summary>
        /// Use-MertEndpoint's last line: how the endpoint got ready, how the block ended, what became of the endpoint, and
        /// about how much the run billed (<paramref name="billed"/> from the resume, or from the command's start when it
        /// was already running, to the confirmed stop) at <paramref name="pricePerHour"/> per replica-hour.
        /// </summary>
        public static string UseSummary(EndpointId id, bool startedHere, TimeSpan ready, string block, string after, TimeSpan? billed, decimal? pricePerHour)
        {
            string start = startedHere ? $"started, ready after {Span(ready)}" : "was already running";
            string cost = billed is TimeSpan b
                ? pricePerHour is decimal p ? $" after {Span(b)} billed (about {Money(p * (decimal)b.TotalHours)} at {Money(p)}/h)" : $" after {Span(b)} billed"
                : pricePerHour is decimal q ? $" (it bills {Money(q)}/h)" : "";
            return $"{id}: {start}; the block {block}; {after}{cost}.";
        }

        /// <summary>Invoke-MertEndpoint's last line: what was sent, skipped and failed, and how long it took.</summary>
        public static string InvokeSummary(int answered, int failed, int skipped, TimeSpan took, bool stopped) =>
            $"{(stopped ? "Stopped: " : "")}{answered} answered, {failed} failed, {skipped} skipped in {Span(took)}"
            + (stopped ? "; run the same command again to send only what is left." : ".");

        /// <summary>New-MertEndpoint's line: the endpoint bills from now, and how to stop it.</summary>
        public static string CreatedBills(EndpointId id, string instance, decimal? pricePerHour, int? scaleToZeroMinutes) =>
            $"{id} was created and bills from now while it boots and runs{(pricePerHour is decimal p ? $" ({Money(p)}/h on {instance})" : $" (on {instance})")}"
            + (scaleToZeroMinutes is int m ? $"; it scales to zero after {m} idle minutes" : "")
            + $". Stop it with: Stop-MertEndpoint -Name {id.Name} -Namespace {id.Namespace}";

        /// <summary>Stop-MertEndpoint -ScaleToZero on a paused endpoint: nothing changed, and why that is not what was asked.</summary>
        public static string ScaleToZeroOfPaused(EndpointId id) =>
            $"{Capital(id.Subject)} is paused, so -ScaleToZero changed nothing: it does not bill, but a request will not wake it. "
            + $"To have it wake on requests, run Start-MertEndpoint -Name {id.Name} -Namespace {id.Namespace}, then Stop-MertEndpoint -ScaleToZero.";

        /// <summary>The hardware and its price, for a question about a command that starts billing.</summary>
        public static string PriceNote(string instance, decimal? pricePerHour) =>
            pricePerHour is decimal p ? $"bills {Money(p)}/h per replica on {instance}" : $"bills while it runs, on {instance} (price unknown)";

        /// <summary>A sweep of every namespace whose account lookup could not be refreshed: it goes on with the older answer.</summary>
        public static string AccountLookupStale(TimeSpan age, EndpointException ex) =>
            $"The account lookup (whoami) could not be refreshed ({ex.Message.TrimEnd('.')}); using its answer from {Span(age)} ago, "
            + "so an organization joined since then is not in '*'.";

        /// <summary>A warning: a namespace's listing may have left endpoints out (see EndpointClient.ListAsync).</summary>
        public static string ListingPartial(string ns, int listed, string why) =>
            $"The listing of namespace '{ns}' may be incomplete: {why}. This command saw the {listed} endpoint(s) it showed; "
            + "an endpoint it left out is not taken as deleted. Name an endpoint (-Name) to read it on its own.";

        /// <summary>A verbose line of -BilledLongerThan: the replica list that could prove a streak's length did not answer.</summary>
        public static string StreakUnproven(EndpointId endpoint, EndpointException ex) =>
            $"{endpoint}: its replica list could not be read ({ex.Message.TrimEnd('.')}), so how long it has billed rests on this module's sightings and the service's stamps.";

        /// <summary>A duration argument that is neither a number of seconds nor a TimeSpan.</summary>
        public static string InvalidDuration(string text) =>
            $"'{text}' is not a duration: give seconds (600, 1.5), a TimeSpan string (00:10:00 for ten minutes, 1.02:00:00 for a day and two hours) or a TimeSpan ([TimeSpan]::FromHours(2)).";

        /// <summary>An amount that must be more than zero (the guard's -MonthlyBudget).</summary>
        public static string NotPositive(object? given) =>
            $"{Convert.ToString(given, CultureInfo.InvariantCulture)} is not more than zero: give an amount in USD, for example 200.";

        /// <summary>Invoke-MertEndpointGuard runs the guard's script from the module's folder; it is not there.</summary>
        public static EndpointException GuardScriptMissing(string path) =>
            new(EndpointErrorKind.InvalidConfiguration, $"The guard's script '{path}' is missing: the module's folder is incomplete. Reinstall the module.");

        /// <summary>A duration outside what its parameter takes (the bounds as a person writes them).</summary>
        public static string DurationOutOfRange(TimeSpan given, TimeSpan min, TimeSpan max) =>
            $"{given} is out of range: give a duration from {min} to {max} (a bare number is seconds: 600 is ten minutes).";

        /// <summary>The service counts the idle timeout in whole minutes.</summary>
        public static string NotWholeMinutes(TimeSpan given) =>
            $"{given} is not a whole number of minutes, which the service counts the idle timeout in: give for example "
            + $"{TimeSpan.FromMinutes(Math.Max(1, Math.Ceiling(given.TotalMinutes)))} or {Math.Max(1, Math.Ceiling(given.TotalMinutes)) * 60:0} (seconds).";

        /// <summary>A duration given under its name and under its old, hidden name (in the old unit) at once.</summary>
        public static EndpointException TwoNamesForOneSetting(string name, string oldName) =>
            new(EndpointErrorKind.InvalidArgument, $"-{name} and -{oldName} set the same thing: give one of them (-{name} takes a "
                + $"TimeSpan or seconds, e.g. -{name} 00:15:00 or -{name} 900).");

        /// <summary>A span for people: 42 s, 3 min 50 s, 2 h 5 min.</summary>
        public static string Span(TimeSpan t)
        {
            if (t < TimeSpan.Zero) t = TimeSpan.Zero;
            if (t.TotalMinutes < 1) return $"{t.TotalSeconds:0} s";
            if (t.TotalHours < 1) return t.Seconds == 0 ? $"{t.Minutes} min" : $"{t.Minutes} min {t.Seconds} s";
            return t.Minutes == 0 ? $"{(int)t.TotalHours} h" : $"{(int)t.TotalHours} h {t.Minutes} min";
        }

        private static string Money(decimal amount) => "$" + amount.ToString(amount < 0.1m && amount != 0 ? "0.000" : "0.00", CultureInfo.InvariantCulture);

        /// <summary>Said at once when a start is cancelled after it resumed or created the endpoint: the pause is on its way.</summary>
        public static string PausingAfterCancel(TimeSpan bound) =>
            $"the start was cancelled; pausing it again, trying for up to {Duration(bound)} (Ctrl+C again gives up).";

        /// <summary>Said on the host when Use's owed stop is done while its block, told to stop, has not returned.</summary>
        public static string PausedBeforeBlockReturned(EndpointId id, EndpointInfo? endpoint, bool scaleToZero) =>
            $"{id}: {(endpoint == null ? "it no longer exists, so nothing bills" : (scaleToZero ? "scaled to zero" : "paused") + $" (a read shows it {endpoint.StatusText})")}; "
            + "the script block was told to stop but has not returned yet (a call that ignores being stopped): waiting for it.";

        public const string NothingToPause = "It no longer exists (404), so there is nothing to pause and nothing bills.";

        /// <summary>
        /// A pause this module owed failed for good: the one loud, machine-readable error (EndpointStillBilling) that
        /// names the endpoint and the exact command to stop it. <paramref name="before"/> is what went wrong first.
        /// </summary>
        public static EndpointException StillBilling(EndpointId id, string verb, string? before, Exception? last, TimeSpan bound, Exception? inner)
        {
            string why = last == null ? "" : $" ({Innermost(last).Message.TrimEnd('.')})";
            string message = (before != null ? before.TrimEnd() + " " : "")
                + $"{Capital(id.Subject)} MAY STILL BE BILLING: this module could not {verb} it{why}, trying for up to {Duration(bound)}. "
                + $"Stop it now: Stop-MertEndpoint{id.Arguments}";
            return new EndpointException(EndpointErrorKind.EndpointStillBilling, message, id, innerException: inner ?? last);
        }

        public static string NoIdleTimeout(EndpointInfo e) =>
            $"{Capital(e.Id.Subject)} is left running with no idle timeout on the service side "
            + (e.MinReplica > 0 ? $"(min replicas {e.MinReplica})" : "(no scale-to-zero timeout)")
            + $": it bills until something stops it. Stop it with Stop-MertEndpoint{e.Id.Arguments} when done, or start it with "
            + "-IdleTimeout 00:15:00 so that the service scales it to zero after 15 idle minutes even if this machine goes away.";

        public static EndpointException MaxDurationExceeded(EndpointId id, TimeSpan limit, bool stopped) =>
            new(EndpointErrorKind.MaxDurationExceeded,
                $"The script block for {id.Subject} ran longer than -MaxDuration {Duration(limit)} and was stopped"
                + (stopped ? "; the endpoint was stopped as well." : "."), id);

        /// <summary>The longest -MaxDuration a timer can hold (about 49.7 days).</summary>
        public static readonly TimeSpan LongestMaxDuration = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

        public static EndpointException InvalidMaxDuration(TimeSpan? given) =>
            new(EndpointErrorKind.InvalidMaxDuration, $"-MaxDuration must be positive and at most {LongestMaxDuration.Days} days (got {given}). For a longer run, leave it out.");

        public static EndpointException NegativeDuration(string parameter, TimeSpan given) =>
            new(EndpointErrorKind.InvalidArgument, $"-{parameter} must be zero or more (got {given}); for example -{parameter} 02:00:00 for two hours.");

        // ---- the data plane ----

        public static EndpointException DataNotReady(Target t, EndpointInfo e) => e.Status == EndpointStatus.Paused
            ? new(EndpointErrorKind.EndpointNotReady, Compose(t, $"it is paused, so it has no URL. {StartAdvice(t)}", null, null), t.Id, endpoint: e)
            : new(EndpointErrorKind.EndpointNotReady,
                Compose(t, $"it has no URL yet (state {e.StatusText}). Wait for it with Wait-MertEndpoint{e.Id.Arguments}", null, null), t.Id, endpoint: e);

        public static EndpointException DataFailed(Target t, EndpointInfo e) =>
            new(EndpointErrorKind.EndpointFailed,
                Compose(t, $"it is in state {e.StatusText}. Read its logs with Get-MertEndpointLog{e.Id.Arguments}; a failed endpoint must be deleted and created again", e.Message, null),
                t.Id, serviceMessage: e.Message, endpoint: e);

        public static EndpointException InsecureUrl(Target t, string url) =>
            Argument(t, $"'{url}' is not an https:// URL (plain http:// is allowed only for loopback hosts, so that the token never travels in clear text)");

        public static EndpointException DataStatus(Target t, int status, string? reason, string? message, string? requestId, int attempts, TimeSpan elapsed)
        {
            string answered = $"the endpoint answered {status} ({reason})";
            (EndpointErrorKind kind, string what) = status switch
            {
                // The service's proxy answers a paused endpoint's URL with "400 Bad Request: Invalid state".
                400 when message?.IndexOf("Invalid state", StringComparison.OrdinalIgnoreCase) >= 0 =>
                    (EndpointErrorKind.EndpointNotReady, $"the endpoint is paused ({status} Invalid state). {StartAdvice(t)}"),
                400 or 413 or 415 or 422 => (EndpointErrorKind.InvalidRequest, $"{answered}: it rejected this input"),
                401 => (EndpointErrorKind.Unauthorized, $"{answered}. Check the token: set HF_TOKEN or pass -Token"),
                403 => (EndpointErrorKind.Forbidden, $"{answered}. Check that the token may call this endpoint"),
                404 => (EndpointErrorKind.EndpointNotFound, $"{answered}. Check the URL and -Route"),
                429 => (EndpointErrorKind.RateLimited, $"{answered} after {Plural(attempts, "attempt")}. Lower -ThrottleLimit or try again later"),
                503 => (EndpointErrorKind.ServiceUnavailable,
                    $"{answered} for {elapsed.TotalSeconds:0} s ({Plural(attempts, "attempt")}). If it is still waking up, raise -Timeout"),
                >= 500 when attempts > 1 => (EndpointErrorKind.ServiceUnavailable, $"{answered} after {Plural(attempts, "attempt")}. Try again later"),
                500 => (EndpointErrorKind.ModelError, $"{answered}: the model failed on this input. Check the input, and the endpoint's logs for the model's own error"),
                >= 500 => (EndpointErrorKind.ServiceUnavailable, $"{answered}: it failed on this input"),
                _ => (EndpointErrorKind.Unknown, answered),
            };
            return new EndpointException(kind, Compose(t, what, message, requestId), t.Id, status, message, requestId);
        }

        public static EndpointException DataUnreachable(Target t, Uri uri, Exception ex, int attempts, TimeSpan elapsed) =>
            new(EndpointErrorKind.ServiceUnavailable, Compose(t,
                $"{uri.Host} could not be reached after {Plural(attempts, "attempt")} in {elapsed.TotalSeconds:0} s ({Innermost(ex).Message.TrimEnd('.')}). Check the network and the endpoint's state",
                null, null), t.Id, innerException: ex);

        public static EndpointException DataTimeout(Target t, TimeSpan timeout, int attempts) =>
            new(EndpointErrorKind.WaitTimeout, Compose(t,
                $"no answer within {timeout.TotalSeconds:0.###} s ({Plural(attempts, "attempt")}). Raise -Timeout for a slow wake-up or a large input",
                null, null), t.Id);

        private static string StartAdvice(Target t)
        {
            string args = t.Id?.Arguments ?? " <name>";
            return $"Start it with Start-MertEndpoint{args}, or run the job inside Use-MertEndpoint{args} {{ ... }}, which starts it and pauses it again afterwards";
        }

        // ---- logs and metrics ----

        public static EndpointException LogStreamLost(Target t, Uri uri, Exception? ex, int attempts) =>
            new(EndpointErrorKind.ServiceUnavailable, Compose(t,
                $"the log stream from {uri.Host} kept failing, {Plural(attempts, "attempt")} in a row without a new line"
                + (ex != null ? $" ({Innermost(ex).Message.TrimEnd('.')})" : "") + ". Try again later; -Since picks up where it stopped",
                null, null), t.Id, innerException: ex);

        public static EndpointException InvalidStep(string step) =>
            new(EndpointErrorKind.InvalidArgument, $"'{step}' is not a step. Use a number and a unit: '30s', '1m', '5m', '1h' or '1d'.");

        public static EndpointException PeriodOutOfRange(string parameter, DateTime given, DateTimeOffset earliest, DateTimeOffset latest) =>
            new(EndpointErrorKind.InvalidPeriod, $"-{parameter} ({given:u}) is out of range: give a time between {earliest:yyyy-MM-dd} and {latest:yyyy-MM-dd} (a year from now).");

        public static EndpointException InvalidPeriod(DateTimeOffset since, DateTimeOffset until) =>
            new(EndpointErrorKind.InvalidPeriod, $"-Since ({since:u}) must be before -Until ({until:u}).");

        public static EndpointException CommandTimedOut(string command, TimeSpan limit) =>
            new(EndpointErrorKind.CommandTimedOut,
                $"{command} did not finish within {Duration(limit)}: the service is slow or not answering, so the calls still going were "
                + $"cancelled. What finished before was written. Try again later, or allow longer: set {EndpointClientOptions.CommandTimeoutVariable} (seconds).");

        public static EndpointException FollowWithUntil() =>
            new(EndpointErrorKind.FollowWithUntil, "-Follow streams new lines, so it cannot end at -Until. Leave out one of them.");

        public static string MetricShapeUnknown(EndpointId id, string metric) =>
            $"The service answered metric '{metric}' of {id.Subject} in a shape this version does not know; its raw points are in the Raw property. Please report the shape.";

        public static string RequestsUnavailable(string ns, EndpointException ex) =>
            $"Requests and CostPer1000Requests are left empty for namespace '{ns}': its metrics could not be read ({ex.Message.TrimEnd('.')}).";

        /// <summary>What a failure's error record shows by default: its message, then the endpoint's last log lines.</summary>
        public static string? WithEvidence(EndpointException ex)
        {
            string subject = ex.Target?.Subject ?? "the endpoint";
            if (ex.LogTailProblem != null) return $"{ex.Message}{Environment.NewLine}(The logs of {subject} could not be read: {ex.LogTailProblem.TrimEnd('.')}.)";
            if (ex.LogTail == null) return null;
            if (ex.LogTail.Count == 0) return $"{ex.Message}{Environment.NewLine}(The service returned no log lines for {subject}.)";
            return $"{ex.Message}{Environment.NewLine}{Environment.NewLine}Last {Plural(ex.LogTail.Count, "log line")} of {subject}:{Environment.NewLine}"
                + string.Join(Environment.NewLine, ex.LogTail.Select(l => (l.Time?.ToString("HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture) ?? "            ") + "  " + l.Message));
        }

        // ---- the usage history ----

        public static EndpointException HistoryUnreadable(string path, Exception ex) =>
            new(EndpointErrorKind.InvalidConfiguration,
                $"Could not read the usage history '{path}': {ex.Message}. Check the file, or point MERT_ENDPOINT_HISTORY_PATH elsewhere.", ex);

        public static EndpointException HistoryNotCompacted(string path, Exception ex) =>
            new(EndpointErrorKind.HistoryNotCompacted, ex is TimeoutException
                ? $"Could not compact the usage history '{path}': another process held its lock ({path}.lock) too long. Nothing was lost; run Optimize-MertEndpointHistory again later."
                : $"Could not compact the usage history '{path}' ({ex.Message.TrimEnd('.')}): it stays as it was. Check the permissions and free space of its folder, or point MERT_ENDPOINT_HISTORY_PATH elsewhere.", ex);

        public static string HistoryUnwritable(string path, Exception ex, string spool) =>
            $"Could not write the usage history '{path}' ({ex.Message.TrimEnd('.')}): the state changes seen now are kept in '{spool}' (in memory if that cannot be written either) and written with the next history write, of this process or another; until then cost reports are incomplete. Check the file's permissions, or point MERT_ENDPOINT_HISTORY_PATH elsewhere.";

        /// <summary>A history write waited its whole patience for another process's lock.</summary>
        public static string HistoryLockBusy(string lockPath, TimeSpan patience, string spool) =>
            $"Could not take the lock '{lockPath}' of the usage history within {patience.TotalSeconds:0.#} s (another process holds it): the state changes seen now are kept in '{spool}' (in memory if that cannot be written either) and written with the next history write, of this process or another; until then cost reports are incomplete.";

        /// <summary>The history's disk refuses writes (EROFS, ERROR_WRITE_PROTECT).</summary>
        public static string HistoryReadOnly(string path) =>
            $"The usage history '{path}' is on a read-only disk: the state changes seen now are kept in memory and written with this session's next history write once it can be written; until then cost reports are incomplete. Point MERT_ENDPOINT_HISTORY_PATH at a writable place.";

        /// <summary>Changes kept in memory after failed history writes passed the limit: the oldest were given up.</summary>
        public static string HistoryKeptTooMany(string path, int dropped) =>
            $"The usage history '{path}' could not be written for so long that {Plural(dropped, "older state reading")} kept in memory {(dropped == 1 ? "was" : "were")} given up; cost reports miss what {(dropped == 1 ? "it" : "they")} saw.";

        public static string CostIncomplete(string path) =>
            $"These cost figures are INCOMPLETE: the usage history '{path}' could not be written, so the states seen now (and any change since it failed) are missing from them. Fix the file or point MERT_ENDPOINT_HISTORY_PATH elsewhere, then run Get-MertEndpointCost again.";

        /// <summary>Get-MertEndpointCost for a period that starts before what the history keeps (its retention dropped older records).</summary>
        public static string CostBeforeRetention(string path, DateTimeOffset keptSince, DateTimeOffset since) =>
            $"The usage history '{path}' keeps records since {keptSince.UtcDateTime:yyyy-MM-dd HH:mm} UTC only (MERT_ENDPOINT_HISTORY_RETENTION_DAYS, "
            + $"default {UsageHistory.DefaultRetentionDays} days): spend between {since.UtcDateTime:yyyy-MM-dd HH:mm} and then may be missing from these figures. "
            + "Raise the setting (0 keeps everything) to keep more from now on.";

        /// <summary>Get-MertEndpointCost without -Namespace '*': namespaces of the token it left out have billed time in the period.</summary>
        public static string CostLeftOutNamespaces(IReadOnlyList<string> leftOut, IReadOnlyList<string> reported) =>
            $"The usage history also has spend in this period in {(leftOut.Count == 1 ? "namespace" : "namespaces")} "
            + string.Join(", ", leftOut.Select(n => $"'{n}'")) + $", which the token can see and this report (namespace "
            + string.Join(", ", reported.Select(n => $"'{n}'")) + ") leaves out. Include them with -Namespace '*' (every namespace of the token)"
            + (leftOut.Count == 1 ? $" or -Namespace {leftOut[0]}." : ", or one with -Namespace <name>.");

        // ---- composition ----

        private static string Capital(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s.Substring(1);

        public static string Compose(Target t, string what, string? serviceMessage, string? requestId) =>
            $"Could not {t.Action}: {what}." + Tail(serviceMessage, requestId);

        /// <summary>" Service said: msg (request id id)." when either is known.</summary>
        public static string Tail(string? serviceMessage, string? requestId)
        {
            if (serviceMessage == null && requestId == null) return "";
            return (serviceMessage != null ? $" Service said: {serviceMessage.TrimEnd('.')}" : " Service gave no message")
                + (requestId != null ? $" (request id {requestId})." : ".");
        }

        public static string Plural(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";

        public static string Duration(TimeSpan t) =>
            t == Timeout.InfiniteTimeSpan ? "no limit"
            : t.TotalMinutes >= 1 && t.Seconds == 0 ? $"{t.TotalMinutes:0} min" : $"{t.TotalSeconds:0.#} s";

        private static Exception Innermost(Exception ex)
        {
            while (ex.InnerException != null) ex = ex.InnerException;
            return ex;
        }

        // ---- the request policy (issue 19): kept at the end to ease merging ----

        /// <summary>
        /// A host asked not to be sent anything until <paramref name="until"/> (Retry-After), and that does not fit what is
        /// left of this call's budget: said at once, with the time to try again, instead of sending into the rate limit.
        /// </summary>
        public static EndpointException RateLimitedUntil(Target t, string host, DateTimeOffset until, TimeSpan wait, int attempts, TimeSpan left)
        {
            string when = until.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + " UTC";
            string what = $"{host} is rate limiting requests (429) and asked to wait {Duration(wait.Duration())} (Retry-After), until {when}"
                + (left == Timeout.InfiniteTimeSpan || left <= TimeSpan.Zero ? "" : $", longer than the {Duration(left)} this call has left")
                + (attempts > 0 ? $"; {Plural(attempts, "attempt")} made" : "; nothing was sent")
                + $". Try again after {when}, or let calls wait longer: set {EndpointClientOptions.RetryBudgetVariable} (seconds)";
            return new EndpointException(EndpointErrorKind.RateLimited, Compose(t, what, null, null), t.Id) { RetryAfter = wait };
        }

        /// <summary>Said before a call waits for a host's earlier Retry-After.</summary>
        public static string GateNotice(string host, DateTimeOffset until, TimeSpan wait) =>
            $"{host} asked to wait until {until.UtcDateTime:HH:mm:ss} UTC (Retry-After); sending in {Duration(wait)}.";

        /// <summary>An answer larger than the cap a setting allows.</summary>
        public static EndpointException AnswerTooLarge(Target t, long cap, string setting) =>
            new(EndpointErrorKind.InvalidRequest, Compose(t,
                $"the answer is larger than the cap of {Bytes(cap)} ({setting}); it was not read further. Raise {setting} if the answer is expected to be this large",
                null, null), t.Id);

        /// <summary>A log line longer than the cap.</summary>
        public static EndpointException LogLineTooLong(Target t, int cap) =>
            new(EndpointErrorKind.InvalidRequest, Compose(t,
                $"a log line is longer than the cap of {Bytes(cap)} ({nameof(EndpointClientOptions.MaxLogLineBytes)}); reading stopped there",
                null, null), t.Id);

        public static string Bytes(long n) =>
            n >= 1L << 30 && n % (1L << 30) == 0 ? $"{n >> 30} GiB"
            : n >= 1L << 20 && n % (1L << 20) == 0 ? $"{n >> 20} MiB"
            : n >= 1L << 10 && n % (1L << 10) == 0 ? $"{n >> 10} KiB"
            : Plural((int)Math.Min(n, int.MaxValue), "byte");

        // ---- the setup check (Test-MertEndpointSetup): kept at the end to ease merging ----

        /// <summary>One problem the setup check found, from an error a command would have reported: every field is kept.</summary>
        public static EndpointException SetupIncomplete(EndpointException cause) =>
            new(EndpointErrorKind.SetupIncomplete, "Setup incomplete: " + cause.Message, cause.Target, cause.StatusCode, cause.ServiceMessage,
                cause.RequestId, cause.Endpoint, cause);

        /// <summary>A namespace whose endpoints cannot be listed: Get-MertEndpoint would fail there.</summary>
        public static EndpointException SetupListingUnreadable(string ns, string role, EndpointException cause) =>
            new(EndpointErrorKind.SetupIncomplete,
                $"Setup incomplete: the endpoints of namespace '{ns}' ({role}) cannot be listed, so commands there will fail. " + cause.Message,
                new EndpointId(ns, null), cause.StatusCode, cause.ServiceMessage, cause.RequestId, null, cause);

        /// <summary>The catalog does not offer the hardware New-MertEndpoint and Start-MertEndpoint -CreateIfMissing use by default.</summary>
        public static EndpointException SetupNoDefaultHardware(string ns, string hardware) =>
            new(EndpointErrorKind.SetupIncomplete,
                $"Setup incomplete: the hardware catalog of namespace '{ns}' does not offer the default hardware ({hardware}), so a create without "
                + $"-Vendor, -Region and -InstanceType would be refused. See what it offers: Get-MertEndpointHardware -Namespace {ns}",
                new EndpointId(ns, null));

        /// <summary>The accelerator quota of the default hardware is used up: a start or create would be refused.</summary>
        public static EndpointException SetupQuotaUsedUp(string ns, string hardware, int used, int max) =>
            new(EndpointErrorKind.SetupIncomplete,
                $"Setup incomplete: namespace '{ns}' uses {used} of its {max} accelerators of the default hardware ({hardware}), so starting or creating one "
                + $"more would be refused. Stop what runs (Get-MertEndpoint -Namespace {ns} -Status Running), or ask Hugging Face for more quota.",
                new EndpointId(ns, null));

        /// <summary>The usage history exists and cannot be read: cost reports would be empty.</summary>
        /// <summary>The clock is far off the service's: one line per command (whole minutes, so the same line each time).</summary>
        public static string HistoryClockOff(TimeSpan ahead) =>
            $"This machine's clock is about {Math.Max(1, (int)Math.Round(ahead.Duration().TotalMinutes))} min {(ahead > TimeSpan.Zero ? "ahead of" : "behind")} the control plane's (the Date of its answers): "
            + "the usage history dates what this machine sees on the service's clock instead (to within a couple of seconds), but times shown and schedules follow this one. Set the clock right (NTP), then check with Test-MertEndpointSetup.";

        public static EndpointException SetupClockOff(TimeSpan ahead) =>
            new(EndpointErrorKind.SetupIncomplete,
                $"Setup incomplete: this machine's clock is {(int)ahead.Duration().TotalMinutes} min {ahead.Duration().Seconds} s {(ahead > TimeSpan.Zero ? "ahead of" : "behind")} the control plane's (the Date of its answers). "
                + "The usage history corrects what this machine records by that offset (to within a couple of seconds), but the times it shows, logs and schedules follow this clock. "
                + "Set the clock right (NTP: timedatectl set-ntp true, or w32tm /resync on Windows), then run Test-MertEndpointSetup again.");

        public static EndpointException SetupHistoryUnreadable(string path, Exception ex) =>
            new(EndpointErrorKind.SetupIncomplete,
                $"Setup incomplete: the usage history '{path}' cannot be read ({ex.Message.TrimEnd('.')}), so Get-MertEndpointCost has nothing to work from. "
                + "Check the file's permissions, or point MERT_ENDPOINT_HISTORY_PATH elsewhere.", ex);
    }
}
