using System.Diagnostics;

namespace CircuitDsl.Tests.Docs;

/// <summary>Debian's headless chromium, to photograph the HTML pages.</summary>
internal static class Chromium
{
    public const string Path = "/usr/bin/chromium";

    /// <summary>Renders <paramref name="htmlFile"/> at <paramref name="width"/>×<paramref name="height"/> CSS pixels to a PNG file.</summary>
    public static void Screenshot(string htmlFile, string pngFile, int width, int height)
    {
        var profile = Directory.CreateTempSubdirectory("circuitdsl-chromium").FullName;
        try
        {
            var start = new ProcessStartInfo(Path)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1",
                "--user-data-dir=" + profile, "--screenshot=" + pngFile, $"--window-size={width},{height}", new Uri(htmlFile).AbsoluteUri,
            })
                start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"chromium did not finish the screenshot of {htmlFile} in 120 s.");
            }

            if (!File.Exists(pngFile))
                throw new InvalidOperationException($"chromium exited with {process.ExitCode} and wrote no {pngFile}:\n{stderr.Result}");
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
        }
    }
}

/// <summary>A [Fact] that is skipped, saying why, where Debian's chromium is not installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        // CI installs chromium and sets CIRCUITDSL_REQUIRE_CHROMIUM=1, so there a missing browser fails the test.
        if (!File.Exists(Chromium.Path) && Environment.GetEnvironmentVariable("CIRCUITDSL_REQUIRE_CHROMIUM") != "1")
        {
            Skip = $"{Chromium.Path} is not installed (apt-get install -y chromium); the screenshot tests need it.";
        }
    }
}
