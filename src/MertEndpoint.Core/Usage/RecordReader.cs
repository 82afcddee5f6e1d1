using System;
using System.Buffers.Text;
using System.Collections.Generic;

namespace MertEndpoint
{
    /// <summary>What one history line says, field by field, before it is a record.</summary>
    internal struct RecordFields
    {
        public DateTimeOffset? Time, Lo, Hi, Stamp, Sent, Prev;
        public List<DateTimeOffset>? Starts;
        public double Spread, Off;
        public string? Api, Namespace, Name, State, Vendor, Region, Type, Size, Source, Url, By;
        public int Replicas;

        // A record's "off" beyond this (ten years) is not a clock offset any writer measured.
        private const double MaxClockOffsetSeconds = 10 * 366 * 86400.0;

        public static double OffsetOf(double seconds) => Math.Abs(seconds) < MaxClockOffsetSeconds ? seconds : 0;

        public static double SpreadOf(double seconds) => seconds >= 0 && seconds < 86400 ? seconds : 0;

        /// <summary>The record, when the line has what every record needs (API, namespace, name, state and time).</summary>
        public bool TryBuild(out UsageEvent? e)
        {
            e = null;
            if (Api == null || Namespace == null || Name == null || State == null || Time is not DateTimeOffset at) return false;
            e = new UsageEvent
            {
                Time = at, Api = Api, Namespace = Namespace, Name = Name, State = State, Replicas = Replicas,
                Vendor = Vendor, Region = Region, InstanceType = Type, InstanceSize = Size, Source = Source, Url = Url,
                Earliest = Lo, Latest = Hi, ServiceStamp = Stamp, ClockOffset = TimeSpan.FromSeconds(Off), SentAt = Sent ?? (Source == "action" ? Lo : null),
                PreviousSeen = Prev, DatedBy = By == UsageEvent.ByStamp || By == UsageEvent.ByMidpoint ? By : null,
            };
            if (e.IsReplicaList)
            {
                e.ReplicaStarts = (IReadOnlyList<DateTimeOffset>?)Starts ?? Array.Empty<DateTimeOffset>();
                e.StartsSpread = TimeSpan.FromSeconds(Spread);
            }
            return true;
        }
    }

    public sealed partial class UsageHistory
    {
        /// <summary>
        /// The form this module writes, read straight from the bytes: one object of plain fields ("key":value with no
        /// whitespace, no escape and no byte outside ASCII), each value a string, a number, true, false or null, and every
        /// time in the form <see cref="Stamp"/> writes. False for anything else (the header, a replica list's starts,
        /// whitespace, an escape, a time in another form, a line that is not JSON), which <see cref="TryReadJson"/> then
        /// reads: the two give the same record for every line this one takes (a test holds them to it). A fresh 30-day
        /// report reads tens of thousands of lines: 55,505 took 85-120 ms this way against 280-300 ms by the JSON reader.
        /// </summary>
        internal static bool TryReadPlain(byte[] b, int i, int end, ref RecordFields f)
        {
            if (end - i < 2 || b[i] != (byte)'{' || b[end - 1] != (byte)'}') return false;
            i++;
            if (b[i] == (byte)'}') return i + 1 == end;
            while (true)
            {
                if (b[i] != (byte)'"') return false;
                int key = ++i;
                i = StringEnd(b, i, end);
                if (i < 0) return false;
                int keyLength = i - key;
                i++;
                if (i + 1 >= end || b[i] != (byte)':') return false;
                i++;
                int value = i, valueEnd;
                byte c = b[i];
                Plain kind;
                if (c == (byte)'"')
                {
                    value = ++i;
                    i = StringEnd(b, i, end);
                    if (i < 0) return false;
                    valueEnd = i++;
                    kind = Plain.String;
                }
                else if (c == (byte)'-' || (c >= (byte)'0' && c <= (byte)'9'))
                {
                    i = NumberEnd(b, i, end);
                    if (i < 0) return false;
                    valueEnd = i;
                    kind = Plain.Number;
                }
                else if (Literal(b, i, end, "null")) { i += 4; valueEnd = i; kind = Plain.Null; }
                else if (Literal(b, i, end, "true")) { i += 4; valueEnd = i; kind = Plain.Other; }
                else if (Literal(b, i, end, "false")) { i += 5; valueEnd = i; kind = Plain.Other; }
                else return false; // an object, an array, whitespace, or not JSON
                if (!Assign(ref f, b, key, keyLength, kind, value, valueEnd)) return false;
                if (i >= end) return false;
                if (b[i] == (byte)'}') return i + 1 == end;
                if (b[i] != (byte)',' || ++i >= end) return false;
            }
        }

        private enum Plain { String, Number, Null, Other }

        /// <summary>Where the string that starts at <paramref name="i"/> (after its quote) ends: its closing quote; -1 when it is not plain.</summary>
        private static int StringEnd(byte[] b, int i, int end)
        {
            for (; i < end; i++)
            {
                byte c = b[i];
                if (c == (byte)'"') return i;
                if (c == (byte)'\\' || c < 0x20 || c >= 0x80) return -1;
            }
            return -1;
        }

        /// <summary>Where a JSON number that starts at <paramref name="i"/> ends; -1 when it is not one (JSON's grammar: no leading zero, no bare point).</summary>
        private static int NumberEnd(byte[] b, int i, int end)
        {
            if (b[i] == (byte)'-' && ++i >= end) return -1;
            if (b[i] == (byte)'0') i++;
            else if (b[i] >= (byte)'1' && b[i] <= (byte)'9') i = Digits(b, i, end);
            else return -1;
            if (i < end && b[i] == (byte)'.')
            {
                int from = ++i;
                i = Digits(b, i, end);
                if (i == from) return -1;
            }
            if (i < end && (b[i] == (byte)'e' || b[i] == (byte)'E'))
            {
                if (++i < end && (b[i] == (byte)'+' || b[i] == (byte)'-')) i++;
                int from = i;
                i = Digits(b, i, end);
                if (i == from) return -1;
            }
            return i;
        }

        private static int Digits(byte[] b, int i, int end)
        {
            while (i < end && b[i] >= (byte)'0' && b[i] <= (byte)'9') i++;
            return i;
        }

        private static bool Literal(byte[] b, int i, int end, string word)
        {
            if (end - i < word.Length) return false;
            for (int k = 0; k < word.Length; k++) if (b[i + k] != word[k]) return false;
            return true;
        }

        /// <summary>One field into <paramref name="f"/>, as <see cref="TryReadJson"/> takes it; false when only that reader can say.</summary>
        private static bool Assign(ref RecordFields f, byte[] b, int key, int keyLength, Plain kind, int value, int valueEnd)
        {
            var name = new ReadOnlySpan<byte>(b, key, keyLength);
            switch (keyLength)
            {
                case 1:
                    if (b[key] == (byte)'t') return TimeOf(b, kind, value, valueEnd, ref f.Time);
                    if (b[key] == (byte)'u') return TimeOf(b, kind, value, valueEnd, ref f.Stamp);
                    return true;
                case 2:
                    if (Ascii(name, "lo")) return TimeOf(b, kind, value, valueEnd, ref f.Lo);
                    if (Ascii(name, "hi")) return TimeOf(b, kind, value, valueEnd, ref f.Hi);
                    if (Ascii(name, "ns")) f.Namespace = TextOf(b, kind, value, valueEnd);
                    else if (Ascii(name, "by")) f.By = TextOf(b, kind, value, valueEnd);
                    return true;
                case 3:
                    if (Ascii(name, "api")) f.Api = TextOf(b, kind, value, valueEnd);
                    else if (Ascii(name, "src")) f.Source = TextOf(b, kind, value, valueEnd);
                    else if (Ascii(name, "url")) f.Url = TextOf(b, kind, value, valueEnd);
                    else if (Ascii(name, "off")) f.Off = kind == Plain.Number && Utf8Parser.TryParse(new ReadOnlySpan<byte>(b, value, valueEnd - value), out double o, out int used) && used == valueEnd - value ? RecordFields.OffsetOf(o) : 0;
                    return true;
                case 4:
                    if (Ascii(name, "name")) f.Name = TextOf(b, kind, value, valueEnd);
                    else if (Ascii(name, "type")) f.Type = TextOf(b, kind, value, valueEnd);
                    else if (Ascii(name, "size")) f.Size = TextOf(b, kind, value, valueEnd);
                    else if (Ascii(name, "sent")) return TimeOf(b, kind, value, valueEnd, ref f.Sent);
                    else if (Ascii(name, "prev")) return TimeOf(b, kind, value, valueEnd, ref f.Prev);
                    return true;
                case 5:
                    if (Ascii(name, "state")) f.State = TextOf(b, kind, value, valueEnd);
                    return true;
                case 6:
                    if (Ascii(name, "vendor")) f.Vendor = TextOf(b, kind, value, valueEnd);
                    else if (Ascii(name, "region")) f.Region = TextOf(b, kind, value, valueEnd);
                    else if (Ascii(name, "spread")) f.Spread = kind == Plain.Number && Utf8Parser.TryParse(new ReadOnlySpan<byte>(b, value, valueEnd - value), out double d, out int used) && used == valueEnd - value ? RecordFields.SpreadOf(d) : 0;
                    return true;
                case 8:
                    if (Ascii(name, "replicas")) f.Replicas = kind == Plain.Number && Utf8Parser.TryParse(new ReadOnlySpan<byte>(b, value, valueEnd - value), out int n, out int used) && used == valueEnd - value ? n : 0;
                    return true;
                case 10:
                    return !Ascii(name, "generation"); // the header: the JSON reader says what it is
                default:
                    return true;
            }
        }

        private static string? TextOf(byte[] b, Plain kind, int value, int valueEnd) =>
            kind == Plain.String ? SharedStrings.Of(b, value, valueEnd - value) : null;

        /// <summary>A time field: null unless a string; a string only in <see cref="Stamp"/>'s form (else false: the JSON reader reads it).</summary>
        private static bool TimeOf(byte[] b, Plain kind, int value, int valueEnd, ref DateTimeOffset? time)
        {
            if (kind != Plain.String)
            {
                time = null;
                return true;
            }
            const int StampLength = 28; // yyyy-MM-ddTHH:mm:ss.fffffffZ
            if (valueEnd - value != StampLength || b[valueEnd - 1] != (byte)'Z') return false;
            if (!Utf8Parser.TryParse(new ReadOnlySpan<byte>(b, value, StampLength), out DateTimeOffset t, out int used, 'O') || used != StampLength) return false;
            time = t.ToUniversalTime();
            return true;
        }
    }
}
