using System;
using System.IO;

namespace MertEndpoint
{
    /// <summary>Finds the Hugging Face token the way huggingface_hub does.</summary>
    public static class TokenResolver
    {
        /// <summary>Returns the token or throws <see cref="EndpointErrorKind.TokenNotFound"/>.</summary>
        public static string Resolve(string? explicitToken) =>
            TryResolve(explicitToken, out _) ?? throw new EndpointException(EndpointErrorKind.TokenNotFound,
                "No Hugging Face token found. Pass -Token, set the HF_TOKEN environment variable, or save one to "
                + $"'{TokenFilePath()}' (for example with 'hf auth login'). Create a token at https://huggingface.co/settings/tokens.");

        /// <summary>
        /// Explicit wins, and an explicit empty one is an error rather than a silent switch to another account; then
        /// HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the token file. A token with control characters inside is an error.
        /// <paramref name="source"/> names where it came from ("parameter", the variable, or the file path), never the value.
        /// </summary>
        public static string? TryResolve(string? explicitToken, out string source)
        {
            if (explicitToken != null)
            {
                source = "parameter";
                return Checked(Clean(explicitToken) ?? throw Errors.EmptyTokenParameter(), "-Token");
            }
            foreach (string variable in new[] { "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN" })
            {
                if (Clean(Environment.GetEnvironmentVariable(variable)) is string fromEnv) { source = variable; return Checked(fromEnv, variable); }
            }
            string path = TokenFilePath();
            if (Clean(ReadFile(path)) is string fromFile) { source = path; return Checked(fromFile, path); }
            source = "";
            return null;
        }

        /// <summary>Throws when the token (already trimmed) has control characters, which no HTTP header can carry.</summary>
        internal static string Checked(string token, string source)
        {
            foreach (char c in token)
                if (char.IsControl(c)) throw Errors.TokenControlCharacters(source);
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
