using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;

namespace MertEndpoint
{
    /// <summary>
    /// Checks on what callers pass before it becomes part of a URL or a request body: a namespace or name of '..'
    /// would move a request to another resource, a route of '/../..' out of the endpoint's URL onto the control plane.
    /// </summary>
    internal static class Inputs
    {
        private static readonly Regex EnvKey = new("^[A-Za-z_.-][A-Za-z0-9_.-]*$", RegexOptions.CultureInvariant);

        /// <summary>One URL path segment (a namespace, a name): not empty, '.' or '..', no slash, backslash or control character.</summary>
        public static string Segment(string? value, string parameter)
        {
            if (value == null || value.Trim().Length == 0 || value == "." || value == ".."
                || value.IndexOf('/') >= 0 || value.IndexOf('\\') >= 0 || HasControl(value))
                throw Errors.InvalidSegment(parameter, value);
            return value;
        }

        /// <summary>
        /// A path under an endpoint's URL (a request route, a health route): absolute ('/...'), no scheme or host, no
        /// '.', '..' or empty segments, no backslash, no encoded dot, slash or backslash, no control character. A query
        /// after '?' is kept as it is. Returns the route with a leading '/'.
        /// </summary>
        public static string Route(string? route, string parameter)
        {
            if (string.IsNullOrEmpty(route)) return "/";
            string r = route!.StartsWith("/", StringComparison.Ordinal) ? route : "/" + route;
            int q = r.IndexOfAny(new[] { '?', '#' });
            string path = q < 0 ? r : r.Substring(0, q);
            string? problem =
                HasControl(r) ? "it contains control characters"
                : r.StartsWith("//", StringComparison.Ordinal) || path.IndexOf("://", StringComparison.Ordinal) >= 0 ? "it is a URL of its own, not a path"
                : path.IndexOf('\\') >= 0 ? "it contains a backslash"
                : path.IndexOf("%2e", StringComparison.OrdinalIgnoreCase) >= 0 || path.IndexOf("%2f", StringComparison.OrdinalIgnoreCase) >= 0
                  || path.IndexOf("%5c", StringComparison.OrdinalIgnoreCase) >= 0 ? "it contains an encoded '.', '/' or '\\'"
                : BadSegment(path) is string bad ? $"it has a{(bad.Length == 0 ? "n empty" : $" '{bad}'")} segment, which could leave the endpoint's URL"
                : null;
            if (problem != null) throw Errors.InvalidRoute(parameter, route, problem);
            return r;
        }

        /// <summary>-Env / -Secret entries: keys an environment variable can have, and a value for each.</summary>
        public static void EnvEntries(IEnumerable<KeyValuePair<string, string?>>? entries, string parameter)
        {
            if (entries == null) return;
            foreach (KeyValuePair<string, string?> e in entries)
            {
                if (string.IsNullOrEmpty(e.Key)) throw Errors.InvalidEnvEntry(parameter, e.Key ?? "", "is empty");
                if (e.Key.IndexOf('=') >= 0) throw Errors.InvalidEnvEntry(parameter, e.Key, "contains '='");
                if (!EnvKey.IsMatch(e.Key)) throw Errors.InvalidEnvEntry(parameter, e.Key, "has characters an environment variable name cannot have");
                if (e.Value == null) throw Errors.InvalidEnvEntry(parameter, e.Key, "has no value ($null)");
            }
        }

        /// <summary>The first '.', '..' or empty segment of an absolute path (a trailing '/' is allowed); null if none.</summary>
        private static string? BadSegment(string path)
        {
            string[] segments = path.Substring(1).Split('/');
            for (int i = 0; i < segments.Length; i++)
            {
                string s = segments[i];
                if (s == "." || s == "..") return s;
                if (s.Length == 0 && i < segments.Length - 1) return s;
            }
            return null;
        }

        private static bool HasControl(string s)
        {
            foreach (char c in s)
                if (char.IsControl(c)) return true;
            return false;
        }
    }
}
