using System;
using System.IO;

namespace MertEndpoint
{
    /// <summary>Where a token came from, as an error names it (never its value).</summary>
    internal enum TokenSource { Parameter, HfToken, HuggingFaceHubToken, File, Caller }

    internal static class TokenSourceNames
    {
        public static string VariableName(this TokenSource source) =>
            source == TokenSource.HfToken ? "HF_TOKEN" : source == TokenSource.HuggingFaceHubToken ? "HUGGING_FACE_HUB_TOKEN" : "";
    }

    /// <summary>Finds the Hugging Face token the way huggingface_hub does.</summary>
    public static class TokenResolver
    {
        /// <summary>Returns the token or throws <see cref="EndpointErrorKind.TokenNotFound"/>.</summary>
        public static string Resolve(string? explicitToken) =>
            TryResolve(explicitToken, out _) ?? throw Errors.TokenNotFound(TokenFilePath());

        /// <summary>
        /// Explicit wins, and an explicit empty one is an error rather than a silent switch to another account; then
        /// HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the token file. A token with a character no header can carry is an error.
        /// <paramref name="source"/> names where it came from ("parameter", the variable, or the file path), never the value.
        /// </summary>
        public static string? TryResolve(string? explicitToken, out string source)
        {
            if (explicitToken != null)
            {
                source = "parameter";
                return Checked(Clean(explicitToken) ?? throw Errors.EmptyTokenParameter(), TokenSource.Parameter);
            }
            foreach (TokenSource variable in new[] { TokenSource.HfToken, TokenSource.HuggingFaceHubToken })
            {
                if (Clean(Environment.GetEnvironmentVariable(variable.VariableName())) is string fromEnv)
                {
                    source = variable.VariableName();
                    return Checked(fromEnv, variable);
                }
            }
            string path = TokenFilePath();
            if (Clean(ReadFile(path)) is string fromFile) { source = path; return Checked(fromFile, TokenSource.File, path); }
            source = "";
            return null;
        }

        /// <summary>
        /// Throws <see cref="EndpointErrorKind.InvalidToken"/> when the token (already trimmed) has a character no HTTP
        /// header can carry: a control character (a line break, say) or a non-ASCII one. Otherwise the request would
        /// fail inside the HTTP stack and read as a network outage.
        /// </summary>
        internal static string Checked(string token, TokenSource source, string? path = null)
        {
            for (int i = 0; i < token.Length; i++)
            {
                char c = token[i];
                if (c < 0x20 || c > 0x7E) throw Errors.InvalidToken(source, path, c, i + 1);
            }
            return token;
        }

        /// <summary>
        /// huggingface_hub's single token file: HF_TOKEN_PATH, else $HF_HOME/token, where HF_HOME defaults to
        /// $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
        /// </summary>
        internal static string TokenFilePath()
        {
            if (Env("HF_TOKEN_PATH") is string tokenPath) return tokenPath;
            string home = Env("HF_HOME") ?? Path.Combine(
                Env("XDG_CACHE_HOME") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"),
                "huggingface");
            return Path.Combine(home, "token");
        }

        private static string? Env(string name) => Clean(Environment.GetEnvironmentVariable(name));

        private static string? Clean(string? value) => string.IsNullOrWhiteSpace(value) ? null : value!.Trim();

        private static string? ReadFile(string path)
        {
            try { return File.Exists(path) ? File.ReadAllText(path) : null; }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
        }
    }
}
