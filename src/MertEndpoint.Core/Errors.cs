using System;

namespace MertEndpoint
{
    public enum EndpointErrorKind
    {
        TokenNotFound, Unauthorized, Forbidden, EndpointNotFound, EndpointAlreadyExists,
        InvalidRequest, RateLimited, ServiceUnavailable, EndpointFailed, WaitTimeout, EndpointNotReady,
        InvalidEndpointName, InvalidArgument, InvalidConfiguration, Unknown,
    }

    /// <summary>
    /// The one exception type Core throws for service and usage errors. The message says which endpoint,
    /// what happened and what to do next; it never contains the token.
    /// </summary>
    public class EndpointException : Exception
    {
        public EndpointException(EndpointErrorKind kind, string message, Exception? innerException = null)
            : base(message, innerException)
        {
            Kind = kind;
        }

        internal EndpointException(EndpointErrorKind kind, string message, Target target,
            int? statusCode = null, string? serviceMessage = null, string? requestId = null,
            EndpointInfo? endpoint = null, Exception? innerException = null)
            : base(message, innerException)
        {
            Kind = kind;
            Namespace = target.Namespace;
            EndpointName = target.Name;
            StatusCode = statusCode;
            ServiceMessage = serviceMessage;
            RequestId = requestId;
            Endpoint = endpoint;
        }

        public EndpointErrorKind Kind { get; }
        public int? StatusCode { get; }
        /// <summary>The service's own words: body "error" or the X-Error-Message header.</summary>
        public string? ServiceMessage { get; }
        /// <summary>X-Request-Id, for support requests.</summary>
        public string? RequestId { get; }
        public string? Namespace { get; }
        public string? EndpointName { get; }
        /// <summary>Last seen state, when known (waits).</summary>
        public EndpointInfo? Endpoint { get; }
    }

    /// <summary>What an operation was acting on; used to word error messages.</summary>
    internal readonly struct Target
    {
        public Target(string verb, string? ns, string? name = null) { Verb = verb; Namespace = ns; Name = name; }

        /// <summary>Infinitive phrase: "get", "list the endpoints of", "look up the token's account".</summary>
        public string Verb { get; }
        public string? Namespace { get; }
        public string? Name { get; }

        public string Subject =>
            Name != null ? $"endpoint '{Name}' in namespace '{Namespace}'"
            : Namespace != null ? $"namespace '{Namespace}'"
            : "";

        public string Action => Subject.Length == 0 ? Verb : $"{Verb} {Subject}";
    }

    /// <summary>Wording of every service error, in one place.</summary>
    internal static class Errors
    {
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
                409 => (EndpointErrorKind.EndpointAlreadyExists,
                    "an endpoint with this name already exists (409). Choose another name or use Start-MertEndpoint to start the existing one"),
                429 => (EndpointErrorKind.RateLimited,
                    $"the service kept rate limiting the requests (429) after {Attempts(attempts)}. Wait a minute, then try again"),
                >= 500 => (EndpointErrorKind.ServiceUnavailable,
                    $"the service kept failing ({status}) after {Attempts(attempts)}. Try again in a few minutes"),
                _ => (EndpointErrorKind.Unknown, $"the service gave an unexpected answer ({status})"),
            };
            return new EndpointException(kind, Compose(t, what, serviceMessage, requestId), t, status, serviceMessage, requestId);
        }

        public static EndpointException Unreachable(Target t, Uri uri, Exception ex, int attempts, TimeSpan attemptTimeout)
        {
            string what = ex is Polly.Timeout.TimeoutRejectedException
                ? $"{uri.Host} did not answer within {attemptTimeout.TotalSeconds:0.###} s, {Attempts(attempts)} made. Try again later"
                : $"{uri.Host} could not be reached after {Attempts(attempts)} ({Innermost(ex).Message.TrimEnd('.')}). Check the network connection and MERT_ENDPOINT_API_URL / HF_ENDPOINT";
            return new EndpointException(EndpointErrorKind.ServiceUnavailable, Compose(t, what, null, null), t, innerException: ex);
        }

        public static EndpointException UnexpectedBody(Target t, int status, string? requestId, Exception ex) =>
            new(EndpointErrorKind.Unknown,
                Compose(t, $"the service answered {status} with a body that could not be read as JSON. Check MERT_ENDPOINT_API_URL", null, requestId),
                t, status, null, requestId, innerException: ex);

        public static string Compose(Target t, string what, string? serviceMessage, string? requestId) =>
            $"Could not {t.Action}: {what}." + Tail(serviceMessage, requestId);

        /// <summary>" Service said: msg (request id id)." when either is known.</summary>
        public static string Tail(string? serviceMessage, string? requestId)
        {
            if (serviceMessage == null && requestId == null) return "";
            return (serviceMessage != null ? $" Service said: {serviceMessage.TrimEnd('.')}" : " Service gave no message")
                + (requestId != null ? $" (request id {requestId})." : ".");
        }

        private static string Attempts(int n) => n == 1 ? "1 attempt" : $"{n} attempts";

        private static Exception Innermost(Exception ex)
        {
            while (ex.InnerException != null) ex = ex.InnerException;
            return ex;
        }
    }
}
