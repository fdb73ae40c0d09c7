using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;

namespace PocketCoder.Errors;

// Request bodies are checked by the framework (AddValidation, .NET 10) from the annotations on their records, before the
// handler runs; a failure is a 400 VALIDATION_FAILED whose detail is the messages below (see Problems.Complete).
// What needs the domain (does the project exist, is the path inside it, is the tool name known) stays in the domain.
// Every attribute lets null through: [Required] says when a field must be there.
// A handler's service parameters whose classes reach Tasks, exceptions or certificates (the options, hosted services) are
// marked [FromServices]: the validation generator walks every other parameter's type, and in those it would write
// reflection over System.Reflection's own types that the native binary cannot keep (the AOT publish fails on it).

/// <summary>Text of at most <c>maxLength</c> characters with no control character (a name, a label).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class PrintableTextAttribute(int maxLength) : ValidationAttribute
{
    public int MaxLength { get; } = maxLength;

    /// <summary>When false, present text must not be blank (a rename to "" is refused; leaving the field out is not).</summary>
    public bool AllowBlank { get; init; } = true;

    public override bool IsValid(object? value) => value switch
    {
        null => true,
        string text => text.Length <= MaxLength && !text.Any(char.IsControl) && (AllowBlank || !string.IsNullOrWhiteSpace(text)),
        _ => false,
    };
}

/// <summary>Text of at most <c>maxLength</c> characters without NUL, which no path, command or message may carry.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class NoNulTextAttribute(int maxLength) : ValidationAttribute
{
    public int MaxLength { get; } = maxLength;

    public override bool IsValid(object? value) => value switch
    {
        null => true,
        string text => text.Length <= MaxLength && !text.Contains('\0', StringComparison.Ordinal),
        _ => false,
    };
}

/// <summary>A list whose every item is non-null and matches <c>pattern</c> (whole item).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class EveryItemMatchesAttribute(string pattern) : ValidationAttribute
{
    private readonly Regex _pattern = new($"^(?:{pattern})$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    public override bool IsValid(object? value) => value switch
    {
        null => true,
        IEnumerable<string?> items => items.All(item => item is not null && _pattern.IsMatch(item)),
        _ => false,
    };
}

/// <summary>A git object id as git prints it: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class GitObjectIdAttribute : ValidationAttribute
{
    public override bool IsValid(object? value) => value switch
    {
        null => true,
        string id => id.Length is 40 or 64 && id.All(char.IsAsciiHexDigitLower),
        _ => false,
    };
}

/// <summary>
/// A list of at most <c>max</c> items (and at least <see cref="Min"/>); <c>{1}</c> in the message is the most. The framework's
/// MaxLength and Length attributes would do this by reflection on any type, which the native binary does not keep.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class ItemCountAttribute(int max) : ValidationAttribute
{
    public int Max { get; } = max;

    public int Min { get; init; }

    public override bool IsValid(object? value) => value switch
    {
        null => true,
        System.Collections.ICollection items => items.Count >= Min && items.Count <= Max,
        _ => false,
    };

    public override string FormatErrorMessage(string name) =>
        string.Format(System.Globalization.CultureInfo.CurrentCulture, ErrorMessageString, name, Max, Min);
}
