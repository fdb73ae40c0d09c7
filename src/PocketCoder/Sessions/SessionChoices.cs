using System.ComponentModel.DataAnnotations;
using PocketCoder.Agents;

namespace PocketCoder.Sessions;

// The model and mode a request picks for the sessions it starts (a session, a profile, a backlog task, a schedule), checked
// by one rule each rather than by the same annotations copied onto every request.

/// <summary>A session mode (<see cref="SessionModes"/>), or none.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class SessionModeAttribute : ValidationAttribute
{
    public SessionModeAttribute() => ErrorMessage = SessionsApi.ModeMessage;

    public override bool IsValid(object? value) => value is null || (value is string mode && SessionModes.IsValid(mode));
}

/// <summary>A model name that can stand as the value of an agent's <c>--model</c> (<see cref="SessionsApi.ModelPattern"/>), or none.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class SessionModelAttribute : ValidationAttribute
{
    private static readonly StringLengthAttribute Length = new(100) { MinimumLength = 1 };
    private static readonly RegularExpressionAttribute Shape = new(SessionsApi.ModelPattern);

    public SessionModelAttribute() => ErrorMessage = SessionsApi.ModelMessage;

    public override bool IsValid(object? value) => Length.IsValid(value) && Shape.IsValid(value);
}
