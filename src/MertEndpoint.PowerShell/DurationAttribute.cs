using System;
using System.Globalization;
using System.Management.Automation;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// A duration parameter read the way a person means it: a TimeSpan; a number, or a string holding one, as seconds
    /// (600, 1.5, '600'); or a TimeSpan string ('00:10:00', '1.02:00:00'). PowerShell alone reads 600 as 600 ticks and
    /// '600' as 600 days. Applies to values bound by name, position, pipeline or property name alike.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class DurationAttribute : ArgumentTransformationAttribute
    {
        public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
        {
            object? value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
            switch (value)
            {
                case null:
                case TimeSpan _:
                    return value;
                case string text:
                    text = text.Trim();
                    if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)) return Seconds(seconds, text);
                    if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out TimeSpan span)) return span;
                    throw new ArgumentTransformationMetadataException(Errors.InvalidDuration(text));
                case byte _: case sbyte _: case short _: case ushort _: case int _: case uint _: case long _: case ulong _:
                case float _: case double _: case decimal _:
                    return Seconds(Convert.ToDouble(value, CultureInfo.InvariantCulture), Convert.ToString(value, CultureInfo.InvariantCulture) ?? "");
                default:
                    return inputData; // anything else: PowerShell's own conversion, and its own message
            }
        }

        private static TimeSpan Seconds(double seconds, string text)
        {
            // TimeSpan holds about 29,000 years; anything past that (or not a number) is no duration.
            if (double.IsNaN(seconds) || double.IsInfinity(seconds) || Math.Abs(seconds) >= TimeSpan.MaxValue.TotalSeconds)
                throw new ArgumentTransformationMetadataException(Errors.InvalidDuration(text));
            return TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));
        }
    }
}

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// The range a duration parameter takes, in seconds (attribute arguments cannot be TimeSpans), and optionally whole
    /// minutes only (the service's idle timeout). Runs after <see cref="DurationAttribute"/>, so 600 is already ten minutes.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class ValidateDurationAttribute : ValidateArgumentsAttribute
    {
        private readonly TimeSpan _min;
        private readonly TimeSpan _max;

        public ValidateDurationAttribute(double minSeconds, double maxSeconds)
        {
            _min = TimeSpan.FromSeconds(minSeconds);
            _max = TimeSpan.FromSeconds(maxSeconds);
        }

        /// <summary>Only whole minutes (the service counts the idle timeout in minutes).</summary>
        public bool WholeMinutes { get; set; }

        protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
        {
            object? value = arguments is PSObject wrapped ? wrapped.BaseObject : arguments;
            if (!(value is TimeSpan span)) return; // $null for an optional one; anything else fails the binding itself
            if (span < _min || span > _max) throw new ValidationMetadataException(Errors.DurationOutOfRange(span, _min, _max));
            if (WholeMinutes && span.Ticks % TimeSpan.TicksPerMinute != 0) throw new ValidationMetadataException(Errors.NotWholeMinutes(span));
        }
    }
}
