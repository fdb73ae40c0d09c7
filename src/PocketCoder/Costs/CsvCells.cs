using System.Globalization;
using System.Text;

namespace PocketCoder.Costs;

/// <summary>
/// CSV as RFC 4180 writes it, safe to open in a spreadsheet: a text cell that starts with <c>= + - @</c>, a tab or a carriage
/// return is read there as a formula (OWASP, "CSV Injection"), so it gets a leading <c>'</c> and every text cell is quoted.
/// A session's title or a person's name is whatever someone typed, and this file is meant to be opened.
/// </summary>
public static class CsvCells
{
    public static string Text(string value)
    {
        var safe = value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + value : value;
        return "\"" + safe.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Number(decimal value) => value.ToString("0.######", CultureInfo.InvariantCulture);

    public static string Line(params string[] cells)
    {
        var line = new StringBuilder();
        foreach (var cell in cells)
        {
            if (line.Length > 0)
            {
                line.Append(',');
            }

            line.Append(cell);
        }

        return line.Append("\r\n").ToString();
    }
}
