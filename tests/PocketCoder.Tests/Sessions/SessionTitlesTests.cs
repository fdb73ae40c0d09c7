using PocketCoder.Sessions;

namespace PocketCoder.Tests.Sessions;

/// <summary>A session's <c>shortTitle</c>: the first sentence of what was asked, without markdown or code, cut at a word.</summary>
public sealed class SessionTitlesTests
{
    [Theory]
    [InlineData("Please update the answer in the app. Then tell me what changed.", "Please update the answer in the app")]
    [InlineData("Why does the upload fail? It worked yesterday.", "Why does the upload fail?")]
    [InlineData("## Fix **the** `login` bug\n\nDetails follow.", "Fix the login bug")]
    [InlineData("```\nstack trace here\n```\n- [ ] see [the issue](https://example.invalid/1) first", "see the issue first")]
    [InlineData("Refactor the session store so that every query goes through one helper and the columns are listed once",
        "Refactor the session store so that every query…")]
    [InlineData("src/PocketCoder/Sessions/SessionStore.cs/and/a/very/long/path/with/no/spaces", "src/PocketCoder/Sessions/SessionStore.cs/and/a/v…")]
    [InlineData("Fix v1.2 now", "Fix v1.2 now")]
    public void Short_IsTheFirstSentence_WithoutNoise_CutAtAWord(string prompt, string expected) =>
        Assert.Equal(expected, SessionTitles.Short(prompt));

    [Theory]
    [InlineData(null)]
    [InlineData("   \n ")]
    [InlineData("```\nonly code\n```")]
    public void Short_OfNothingReadable_IsNull(string? prompt) => Assert.Null(SessionTitles.Short(prompt));

    [Fact]
    public void Short_NeverPassesTheLimit_AndPromptsThatBeginAlike_StayApart()
    {
        var a = SessionTitles.Short("Please update the README with install steps for Linux, macOS and Windows users")!;
        var b = SessionTitles.Short("Please update the README with a license section")!;
        Assert.True(a.Length <= SessionTitles.MaxLength + 1, a);
        Assert.NotEqual(a, b);
    }
}
