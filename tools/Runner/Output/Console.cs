using Spectre.Console;

namespace SpikeEngine.Runner.Output;

/// <summary>Spectre.Console bound to a TextWriter: colours and live output only on a real terminal.</summary>
public static class ConsoleFactory
{
    public static IAnsiConsole For(TextWriter writer)
    {
        bool terminal = ReferenceEquals(writer, System.Console.Out) && !System.Console.IsOutputRedirected;
        return AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
    }

    public static bool IsTerminal(TextWriter writer) => ReferenceEquals(writer, System.Console.Out) && !System.Console.IsOutputRedirected;
}
