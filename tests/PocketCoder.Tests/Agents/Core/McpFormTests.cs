using System.Text.Json;
using PocketCoder.Agents;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>An MCP server's form as questions for the owner, and the answers back as the content it asked for.</summary>
[Trait("Category", "Unit")]
public sealed class McpFormTests
{
    private static JsonElement Form(string properties) => JsonDocument.Parse(
        """{"serverName":"probe","mode":"form","message":"Set up the deploy","requestedSchema":{"type":"object","properties":{"""
        + properties + "}}}").RootElement;

    /// <summary>Each answer an option label when the field has it, else the owner's own words.</summary>
    private static IReadOnlyList<OwnerAnswer> Answered(PermissionRequest question, params string[] answers)
    {
        var options = question.Input.GetProperty("questions").EnumerateArray()
            .Select(q => q.GetProperty("options").EnumerateArray().Select(o => o.GetProperty("label").GetString()!).ToList()).ToList();
        return [.. answers.Select((a, i) => options[i].Contains(a) ? new OwnerAnswer([a], null) : new OwnerAnswer([], a))];
    }

    [Fact]
    public void EveryKindOfField_BecomesAQuestion_AndItsAnswerTheTypedValue()
    {
        var form = Form("""
            "env":{"type":"string","title":"Environment","oneOf":[{"const":"prod","title":"Production"},{"const":"stage","title":"Staging"}]},
            "force":{"type":"boolean","title":"Force"},
            "replicas":{"type":"integer","title":"Replicas"},
            "note":{"type":"string","description":"for the log"}
            """);
        var question = McpForm.Questions(form)!;
        Assert.Equal(ToolKind.Question, question.Kind);
        var questions = question.Input.GetProperty("questions").EnumerateArray().ToList();
        Assert.Equal(4, questions.Count);
        Assert.Equal("Set up the deploy — Environment", questions[0].GetProperty("question").GetString());
        Assert.Equal(["Production", "Staging"], questions[0].GetProperty("options").EnumerateArray().Select(o => o.GetProperty("label").GetString()));
        Assert.Equal(["Yes", "No"], questions[1].GetProperty("options").EnumerateArray().Select(o => o.GetProperty("label").GetString()));
        Assert.Equal("note (for the log)", questions[3].GetProperty("header").GetString());

        var content = McpForm.Content(form, Answered(question, "Staging", "No", "3", "nightly"))!;
        Assert.Equal("""{"env":"stage","force":false,"replicas":3,"note":"nightly"}""", content.ToJsonString());
    }

    [Fact]
    public void AnAnswerThatDoesNotFit_IsNoContent()
    {
        var form = Form("""
            "env":{"type":"string","enum":["prod","stage"]},
            "replicas":{"type":"integer"}
            """);
        var question = McpForm.Questions(form)!;
        Assert.Null(McpForm.Content(form, Answered(question, "somewhere else", "3")));
        Assert.Null(McpForm.Content(form, Answered(question, "prod", "three")));
        Assert.NotNull(McpForm.Content(form, Answered(question, "prod", "3")));
        // An option and own words at once fit no single field.
        Assert.Null(McpForm.Content(form, [new OwnerAnswer(["prod"], "stage"), new OwnerAnswer([], "3")]));
        var number = Form("""
            "ratio":{"type":"number"}
            """);
        Assert.Null(McpForm.Content(number, [new OwnerAnswer([], "NaN")]));
        Assert.Null(McpForm.Content(number, [new OwnerAnswer([], "1e999")]));
        Assert.Equal("""{"ratio":0.5}""", McpForm.Content(number, [new OwnerAnswer([], "0.5")])!.ToJsonString());
    }

    [Fact]
    public void WhatOneQuestionCannotAsk_IsNotShown()
    {
        Assert.Null(McpForm.Questions(Form("""
            "tags":{"type":"array","items":{"type":"string","enum":["a","b"]}}
            """)));
        Assert.Null(McpForm.Questions(JsonDocument.Parse("""{"serverName":"s","mode":"url","message":"Sign in","url":"https://example.invalid","elicitationId":"1"}""").RootElement));
        var confirm = McpForm.Questions(Form(""))!;
        Assert.Equal("OK", confirm.Input.GetProperty("questions")[0].GetProperty("options")[0].GetProperty("label").GetString());
    }
}
