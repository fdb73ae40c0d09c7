using PocketCoder.Costs;

namespace PocketCoder.Tests.Costs;

[Trait("Category", "Unit")]
public sealed class CsvCellsTests
{
    [Theory]
    [InlineData("=1+2", "\"'=1+2\"")]
    [InlineData("+1", "\"'+1\"")]
    [InlineData("-1", "\"'-1\"")]
    [InlineData("@SUM(A1)", "\"'@SUM(A1)\"")]
    [InlineData("\tx", "\"'\tx\"")]
    [InlineData("\rx", "\"'\rx\"")]
    [InlineData("Fix the \"build\", then =1", "\"Fix the \"\"build\"\", then =1\"")]
    [InlineData("", "\"\"")]
    public void Text_FormulaStartsArePrefixed_AndQuotesDoubled(string value, string cell) => Assert.Equal(cell, CsvCells.Text(value));

    [Fact]
    public void Numbers_AreInvariant_AndLinesEndInCrLf()
    {
        Assert.Equal("1234,0.0125\r\n", CsvCells.Line(CsvCells.Number(1234L), CsvCells.Number(0.012500m)));
    }
}
