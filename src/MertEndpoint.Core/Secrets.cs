using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace MertEndpoint
{
    /// <summary>
    /// The one masking function for anything shown (messages, errors, notices): tokens this process uses and any
    /// Hugging Face token shape, the user information of any URL (user:password@), the path and query of URLs whose
    /// path is their secret (webhooks), and credential fields an answer may echo. Masks in place, keeping the rest
    /// readable, so a message still says which host and which endpoint.
    /// </summary>
    public static class Secrets
    {
        public const string Masked = "***";

        private static readonly object Gate = new();
        private static string[] _known = Array.Empty<string>();

        /// <summary>
        /// The shapes to mask, built on the first <see cref="Mask"/>, not when the first client registers its token: a
        /// command that shows nothing (a plain Get) never builds them. Interpreted, not compiled: a process masks a few
        /// lines, and compiling four patterns (Reflection.Emit, then the JIT) cost a fresh process's first command tens
        /// of milliseconds before it sent anything.
        /// </summary>
        private static class Shapes
        {
            // user:password@ (or a lone user@ carrying a token) right after a scheme.
            internal static readonly Regex UrlUserInfo = new(@"(?<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?<info>[^/\s@?#'""]+)@",
                RegexOptions.CultureInvariant);
            // Hugging Face tokens (hf_..., api_org_...) and bearer values, wherever they appear.
            internal static readonly Regex TokenShape = new(@"\b(?:hf_|api_org_)[A-Za-z0-9_]{8,}|(?i:(?<=\bBearer\s+))[^\s'"",;]{8,}",
                RegexOptions.CultureInvariant);
            // Webhook URLs: the path (and query) is the secret.
            internal static readonly Regex Webhook = new(
                @"(?<keep>https?://(?:hooks\.slack\.com|[A-Za-z0-9.-]+\.webhook\.office\.com|[A-Za-z0-9.-]+\.logic\.azure\.com(?::\d+)?|(?:discord(?:app)?\.com)|[A-Za-z0-9.-]+\.environment\.api\.powerplatform\.com(?::\d+)?))(?<secret>/[^\s'""<>]*)",
                RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);
            // "password": "...", "secret": "...", "credentials": {...} in echoed JSON, and password=... in text.
            internal static readonly Regex CredentialField = new(
                @"(?<key>""(?:password|secret|token|accessToken|access_token|apiKey|api_key)""\s*:\s*)""(?:[^""\\]|\\.)*""|(?<key2>\b(?:password|passwd|pwd|token|secret)=)[^\s&;'""]+",
                RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);
        }

        /// <summary>Adds a secret this process holds (a token), to be masked wherever it appears.</summary>
        public static void Register(string? secret)
        {
            // Short strings are not tokens (the warm-up uses "warm-up"): masking them would garble ordinary words.
            if (string.IsNullOrEmpty(secret) || secret!.Length < 12) return;
            lock (Gate)
            {
                if (_known.Contains(secret)) return;
                // Longest first, so a token containing another is masked whole.
                _known = _known.Concat(new[] { secret }).OrderByDescending(s => s.Length).ToArray();
            }
        }

        /// <summary>The text with every secret it carries replaced by <see cref="Masked"/>; null stays null.</summary>
        public static string Mask(string text)
        {
            if (string.IsNullOrEmpty(text)) return text;
            foreach (string secret in _known)
                if (text.IndexOf(secret, StringComparison.Ordinal) >= 0) text = text.Replace(secret, Masked);
            text = Shapes.UrlUserInfo.Replace(text, m => m.Groups["scheme"].Value + Masked + "@");
            text = Shapes.Webhook.Replace(text, m => m.Groups["keep"].Value + "/" + Masked);
            text = Shapes.CredentialField.Replace(text, m => m.Groups["key"].Success ? m.Groups["key"].Value + "\"" + Masked + "\"" : m.Groups["key2"].Value + Masked);
            text = Shapes.TokenShape.Replace(text, Masked);
            return text;
        }

        internal static string? MaskOrNull(string? text) => text == null ? null : Mask(text);
    }
}
