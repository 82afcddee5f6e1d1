using System;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Threading;

namespace MertEndpoint
{
    /// <summary>
    /// The strings a history's records repeat (its API base, namespace, names, states, hardware, URLs), one copy each,
    /// found by their UTF-8 bytes: a record's string field costs a hash and a compare of its bytes instead of decoding
    /// and allocating a string that the table then throws away. Safe from any thread (lock-free reads; a slot is
    /// filled once, by compare-and-swap) and bounded: past its slots, or for a long or escaped value, the string is
    /// decoded and shared through a dictionary of at most <see cref="MaxTexts"/>, then not kept at all.
    /// </summary>
    internal static class SharedStrings
    {
        private sealed class Entry
        {
            public Entry(byte[] bytes, string text, int hash) { Bytes = bytes; Text = text; Hash = hash; }
            public readonly byte[] Bytes;
            public readonly string Text;
            public readonly int Hash;
        }

        private const int Slots = 4096;          // a power of two
        private const int MaxProbes = 8;
        private const int MaxBytes = 256;        // a URL or a name fits; anything longer is decoded each time
        private const int MaxTexts = 100000;

        private static readonly Entry?[] Table = new Entry?[Slots];
        private static readonly ConcurrentDictionary<string, string> Texts = new(StringComparer.Ordinal);

        /// <summary>The string value the reader is on, shared; null for any other token.</summary>
        public static string? Of(ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.String) return null;
            if (reader.ValueIsEscaped || reader.HasValueSequence || reader.ValueSpan.Length > MaxBytes) return Of(reader.GetString());
            ReadOnlySpan<byte> bytes = reader.ValueSpan;
            return Find(bytes, out int hash, out int free) ?? Keep(bytes, hash, free, reader.GetString()!);
        }

        /// <summary>The string <paramref name="length"/> UTF-8 bytes of <paramref name="buffer"/> hold (no escapes in them), shared.</summary>
        public static string Of(byte[] buffer, int start, int length)
        {
            if (length > MaxBytes) return Of(Encoding.UTF8.GetString(buffer, start, length))!;
            var bytes = new ReadOnlySpan<byte>(buffer, start, length);
            return Find(bytes, out int hash, out int free) ?? Keep(bytes, hash, free, Encoding.UTF8.GetString(buffer, start, length));
        }

        /// <summary>The string kept for these bytes; else null, with the free slot its probe met (-1: none).</summary>
        private static string? Find(ReadOnlySpan<byte> bytes, out int hash, out int free)
        {
            hash = HashOf(bytes);
            free = -1;
            for (int probe = 0; probe < MaxProbes; probe++)
            {
                int slot = (hash + probe) & (Slots - 1);
                Entry? entry = Volatile.Read(ref Table[slot]);
                if (entry == null)
                {
                    free = slot;
                    return null;
                }
                if (entry.Hash == hash && bytes.SequenceEqual(entry.Bytes)) return entry.Text;
            }
            return null;
        }

        private static string Keep(ReadOnlySpan<byte> bytes, int hash, int free, string decoded)
        {
            string text = Of(decoded)!;
            // Another thread may have filled the slot meanwhile: then this value is found through the dictionary.
            if (free >= 0) Interlocked.CompareExchange(ref Table[free], new Entry(bytes.ToArray(), text, hash), null);
            return text;
        }

        /// <summary>One copy of <paramref name="value"/> (while fewer than <see cref="MaxTexts"/> are kept).</summary>
        public static string? Of(string? value)
        {
            if (value == null) return null;
            if (Texts.TryGetValue(value, out string? shared)) return shared;
            return Texts.Count < MaxTexts ? Texts.GetOrAdd(value, value) : value;
        }

        private static int HashOf(ReadOnlySpan<byte> bytes)
        {
            // FNV-1a: the values differ late (".../scale-029" and ".../scale-098"), so every byte counts.
            uint h = 2166136261;
            foreach (byte b in bytes) h = (h ^ b) * 16777619;
            return (int)(h ^ (h >> 15));
        }
    }
}
