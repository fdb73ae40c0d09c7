using System.Text.Json;
using PocketCoder.Approvals;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Gate;

/// <summary>
/// approval.requested's <c>editContext</c>: the lines around an Edit's <c>old_string</c>, so the phone shows the change
/// in place with its true line numbers; and never a byte of a file outside the session's folder.
/// </summary>
public sealed class EditContextTests
{
    private const string File = "one\ntwo\nthree\n  const answer = 41;\nfive\nsix\nseven\neight\n";

    [Fact]
    public void Locate_GivesTheWholeLinesAroundTheReplacedText_AndTheLineItStartsOn()
    {
        var context = EditContext.Locate(File, "answer = 41")!;
        Assert.Equal(4, context.Line);
        Assert.Equal(["one", "two", "three"], context.Before);
        Assert.Equal(["five", "six", "seven"], context.After);
        Assert.Equal("  const ", context.Prefix);
        Assert.Equal(";", context.Suffix);
    }

    [Fact]
    public void Locate_TextEndingWithItsNewline_EndsOnThatLine_AtTheTopAndEndOfTheFile()
    {
        var top = EditContext.Locate(File, "one\ntwo\n")!;
        Assert.Equal((1, 0, "", ""), (top.Line, top.Before.Count, top.Prefix, top.Suffix));
        Assert.Equal(["three", "  const answer = 41;", "five"], top.After);

        var end = EditContext.Locate(File, "eight")!;
        Assert.Equal((8, "", ""), (end.Line, end.Prefix, end.Suffix));
        Assert.Equal(["five", "six", "seven"], end.Before);
        Assert.Empty(end.After);

        Assert.Null(EditContext.Locate(File, "not there"));
    }

    [Fact]
    public void Locate_AMinifiedLine_GivesNoContext_RatherThanMegabytesInTheEvent()
    {
        var minified = "var a=1;" + new string('x', 100_000) + "answer = 41;" + new string('y', 100_000) + "\n";
        Assert.Null(EditContext.Locate(minified, "answer = 41"));
        Assert.Null(EditContext.Locate(new string('z', 5000) + "\nanswer = 41\n", "answer = 41"));
    }

    [Fact]
    public void For_ReplaceAll_GivesNoContext_OneOccurrenceWouldMakeItLookLocal()
    {
        var project = TempPaths.NewDirectory("pc-ctx-all");
        try
        {
            System.IO.File.WriteAllText(Path.Combine(project, "a.ts"), File);
            using var all = JsonDocument.Parse("""{"old_string":"answer = 41","new_string":"answer = 42","replace_all":true}""");
            using var one = JsonDocument.Parse("""{"old_string":"answer = 41","new_string":"answer = 42","replace_all":false}""");

            Assert.Null(EditContext.For("a.ts", all.RootElement, project));
            Assert.NotNull(EditContext.For("a.ts", one.RootElement, project));
        }
        finally
        {
            TempPaths.Delete(project);
        }
    }

    [Fact]
    public void For_ReadsOnlyFilesInsideTheSessionsFolder_NotThroughALink()
    {
        var project = TempPaths.NewDirectory("pc-ctx");
        var outside = TempPaths.NewDirectory("pc-ctx-out");
        try
        {
            System.IO.File.WriteAllText(Path.Combine(project, "a.ts"), File);
            System.IO.File.WriteAllText(Path.Combine(outside, "secret.txt"), "token = abc\n");
            System.IO.File.CreateSymbolicLink(Path.Combine(project, "link.txt"), Path.Combine(outside, "secret.txt"));
            using var edit = JsonDocument.Parse("""{"old_string":"answer = 41","new_string":"answer = 42"}""");
            using var secret = JsonDocument.Parse("""{"old_string":"token","new_string":"x"}""");

            Assert.Equal(4, EditContext.For(Path.Combine(project, "a.ts"), edit.RootElement, project)!.Line);
            Assert.Equal(4, EditContext.For("a.ts", edit.RootElement, project)!.Line);
            Assert.Null(EditContext.For(Path.Combine(outside, "secret.txt"), secret.RootElement, project));
            Assert.Null(EditContext.For(Path.Combine(project, "link.txt"), secret.RootElement, project));
            Assert.Null(EditContext.For(Path.Combine(project, "..", Path.GetFileName(outside), "secret.txt"), secret.RootElement, project));
            using var write = JsonDocument.Parse("""{"content":"x"}""");
            Assert.Null(EditContext.For(Path.Combine(project, "a.ts"), write.RootElement, project));
        }
        finally
        {
            TempPaths.Delete(project);
            TempPaths.Delete(outside);
        }
    }

    [Fact]
    public async Task For_AFifoUnderTheEditedName_IsNeverRead_TheGateIsNotHeld()
    {
        var project = TempPaths.NewDirectory("pc-ctx-fifo");
        try
        {
            Assert.Equal(0, MakeFifo(Path.Combine(project, "a.ts"), 0x1B6));
            using var edit = JsonDocument.Parse("""{"old_string":"answer = 41","new_string":"answer = 42"}""");

            // Reading a FIFO waits for a writer that never comes: the context must be given up on, not waited for.
            var context = Task.Run(() => EditContext.For(Path.Combine(project, "a.ts"), edit.RootElement, project));
            Assert.Same(context, await Task.WhenAny(context, Task.Delay(TimeSpan.FromSeconds(10))));
            Assert.Null(await context);
        }
        finally
        {
            TempPaths.Delete(project);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MakeFifo(string path, uint mode);
}
