using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Sessions.Running;

namespace PocketCoder.Tests.Sessions;

/// <summary>What a stopped agent is told after its resume: the call restated, and the owner's decision in their words.</summary>
[Trait("Category", "Unit")]
public sealed class DecisionPromptTests
{
    private static readonly PermissionRequest Call = new("c1", "bash", ToolKind.Execute, "echo ran",
        JsonDocument.Parse("""{"command":"echo ran"}""").RootElement, "echo ran", null, null);

    [Fact]
    public void Allow_AsksForThatCallAgain_Restated()
    {
        var text = DecisionPrompt.Of(Call, new PermissionDecision(true));
        Assert.Contains("ALLOWED", text, StringComparison.Ordinal);
        Assert.Contains("""bash with the input {"command":"echo ran"}""", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Deny_SaysNotToMakeIt_WithTheOwnersWords()
    {
        var text = DecisionPrompt.Of(Call, PermissionDecision.Deny("Not while the build runs."));
        Assert.Contains("DENIED", text, StringComparison.Ordinal);
        Assert.Contains("Not while the build runs.", text, StringComparison.Ordinal);
        Assert.DoesNotContain("ALLOWED", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Question_GivesTheAnswers()
    {
        var question = new PermissionRequest("q1", "question", ToolKind.Question, "Which colour?",
            JsonDocument.Parse("""{"questions":[{"question":"Which colour?","options":[]}]}""").RootElement, null, null, null);
        var text = DecisionPrompt.Of(question, new PermissionDecision(true, Answers: [new OwnerAnswer(["Blue"], "and a bit of green")]));
        Assert.Contains("1. Which colour? Answer: Blue; and a bit of green", text, StringComparison.Ordinal);
    }
}
