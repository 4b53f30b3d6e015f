using Spectre.Console;

namespace SpikeEngine.Runner.Output;

/// <summary>Spectre.Console bound to a TextWriter: colours and live output only on a real terminal.</summary>
public static class ConsoleFactory
{
    public static IAnsiConsole For(TextWriter writer)
    {
        bool terminal = ReferenceEquals(writer, System.Console.Out) && !System.Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal) console.Profile.Width = 160; // files and pipes: no terminal width to fit, keep tables unwrapped
        return console;
    }

    public static bool IsTerminal(TextWriter writer) => ReferenceEquals(writer, System.Console.Out) && !System.Console.IsOutputRedirected;
}
