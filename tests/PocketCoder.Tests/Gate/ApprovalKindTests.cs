using PocketCoder.Agents;
using PocketCoder.Approvals;

namespace PocketCoder.Tests.Gate;

/// <summary>
/// An approval's kind is a closed set (<see cref="ApprovalKind"/>) kept and sent under the words it always had: the database
/// and the API (docs/api.md) must read the same after the change from strings.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ApprovalKindTests
{
    [Fact]
    public void Of_EveryToolKind_IsAskedUnderTheWordItWasAlwaysStoredAs()
    {
        foreach (var tool in Enum.GetValues<ToolKind>())
        {
            Assert.Equal(tool.ToWire(), ApprovalKind.Of(tool).ToWire());
        }
    }

    [Theory]
    [InlineData("read"), InlineData("edit"), InlineData("execute"), InlineData("fetch"), InlineData("mcp"), InlineData("other"),
     InlineData("question"), InlineData("network"), InlineData("budget")]
    public void FromWire_EveryStoredWord_ReadsBackAsItself(string word) =>
        Assert.Equal(word, ApprovalKind.FromWire(word).ToWire());

    [Fact]
    public void FromWire_TheFourKinds_AreTheirOwnTypes()
    {
        Assert.IsType<ApprovalKind.Question>(ApprovalKind.FromWire("question"));
        Assert.IsType<ApprovalKind.Network>(ApprovalKind.FromWire("network"));
        Assert.IsType<ApprovalKind.Budget>(ApprovalKind.FromWire("budget"));
        Assert.Equal(ToolKind.Execute, Assert.IsType<ApprovalKind.ToolCall>(ApprovalKind.FromWire("execute")).Tool);
        // Equal by what they are, as the records they are: a kind read twice is the same kind.
        Assert.Equal(ApprovalKind.FromWire("edit"), ApprovalKind.Of(ToolKind.Edit));
    }

    [Theory]
    [InlineData("Execute"), InlineData("bookkeeping"), InlineData(""), InlineData("budget ")]
    public void FromWire_AWordNoKindIsStoredAs_IsAFormatError(string word)
    {
        Assert.Null(ApprovalKind.TryFromWire(word));
        Assert.Throws<FormatException>(() => ApprovalKind.FromWire(word));
    }
}
