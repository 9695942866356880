using System.Diagnostics;
using CircuitDsl.Tests.Weights;

namespace CircuitDsl.Tests.Reliability;

/// <summary>
/// The command line on a model folder, config, weights file or tokens file that the user may not read: exit code 2
/// and one line on standard error naming the path and saying it cannot be read. The kernel itself refuses the read
/// (EACCES): permissions mean nothing to root, and CI runs as root, so there the built <c>circuitdsl</c> runs as the
/// unprivileged user 65534 through <c>setpriv</c> (util-linux); as anyone else it runs as that user.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PermissionDeniedTests : IClassFixture<PermissionDeniedTests.UnprivilegedCli>, IDisposable
{
    private readonly UnprivilegedCli _cli;
    private readonly TempFolder _temp = new();

    public PermissionDeniedTests(UnprivilegedCli cli)
    {
        _cli = cli;
        File.SetUnixFileMode(_temp.Path, ReadableByAll | UnixFileMode.UserWrite);
    }

    private const UnixFileMode ReadableByAll = UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead
        | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public void Dispose()
    {
        foreach (var path in Directory.EnumerateFileSystemEntries(_temp.Path, "*", SearchOption.TopDirectoryOnly))
        {
            File.SetUnixFileMode(path, ReadableByAll | UnixFileMode.UserWrite);
        }

        _temp.Dispose();
    }

    [Fact]
    public void The_cli_runs_unprivileged_and_reads_what_it_may()
    {
        var model = ModelFolder("readable");

        var (code, stdout, stderr) = _cli.Run("inspect", model);

        code.Should().Be(0, $"the unprivileged user can read a readable model; stderr: {stderr}");
        stdout.Should().Contain("layers × heads");
    }

    [Fact]
    public void A_model_folder_that_cannot_be_listed_is_one_line_naming_the_folder()
    {
        var model = ModelFolder("locked");
        File.SetUnixFileMode(model, UnixFileMode.None);

        string[][] commands = [["inspect", model], ["loss", model, "--tokens", Tokens("tokens.json")]];
        foreach (var args in commands)
        {
            OneLineError(args).Should().Be($"circuitdsl: {model}: cannot read the model folder: Access to the path '{model}' is denied.");
        }
    }

    [Theory]
    [InlineData("config.json")]
    [InlineData("model.safetensors")]
    public void A_file_of_the_model_that_cannot_be_read_is_one_line_naming_it(string name)
    {
        var model = ModelFolder("model");
        var file = Path.Combine(model, name);
        File.SetUnixFileMode(file, UnixFileMode.None);

        OneLineError("inspect", model).Should().Be($"circuitdsl: {file}: cannot read the file: Access to the path '{file}' is denied.");
    }

    [Fact]
    public void A_tokens_file_that_cannot_be_read_is_one_line_naming_it()
    {
        var model = ModelFolder("model");
        var tokens = Tokens("tokens.json");
        File.SetUnixFileMode(tokens, UnixFileMode.None);

        foreach (var command in new[] { "loss", "logits", "inspect" })
        {
            OneLineError(command, model, "--tokens", tokens)
                .Should().Be($"circuitdsl: {tokens}: cannot read the tokens file: Access to the path '{tokens}' is denied.", command);
        }
    }

    private string OneLineError(params string[] args)
    {
        var (code, stdout, stderr) = _cli.Run(args);
        code.Should().Be(2, $"circuitdsl {string.Join(" ", args)} cannot read its input; stderr: {stderr}");
        stdout.Should().BeEmpty();
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().ContainSingle($"one line of explanation, not {stderr}");
        return lines[0];
    }

    /// <summary>A copy of the attention-only fixture that every user may read.</summary>
    private string ModelFolder(string name)
    {
        var dir = _temp.File(name);
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(WeightsFixtures.Folder("attn_only_st")))
        {
            var copy = Path.Combine(dir, Path.GetFileName(file));
            File.Copy(file, copy);
            File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        File.SetUnixFileMode(dir, ReadableByAll);
        return dir;
    }

    private string Tokens(string name)
    {
        var path = _temp.File(name);
        File.WriteAllText(path, "[[1, 2, 3]]");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return path;
    }

    /// <summary>
    /// The built <c>circuitdsl</c> (CircuitDsl.Cli.dll and its dependencies), copied to a folder every user may read,
    /// run through the dotnet host as user 65534 when the tests run as root.
    /// </summary>
    public sealed class UnprivilegedCli : IDisposable
    {
        private const string Nobody = "65534";
        private readonly TempFolder _copy = new();
        private readonly bool _asRoot = EffectiveUid() == "0";

        public UnprivilegedCli()
        {
            foreach (var file in Directory.GetFiles(AppContext.BaseDirectory)
                .Where(f => f.EndsWith(".dll", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith("CircuitDsl.Cli.", StringComparison.Ordinal)))
            {
                File.Copy(file, _copy.File(Path.GetFileName(file)));
            }

            File.SetUnixFileMode(_copy.Path, ReadableByAll | UnixFileMode.UserWrite);
        }

        public (int Code, string Stdout, string Stderr) Run(params string[] args)
        {
            // The dotnet host that runs these tests; DOTNET_HOST_PATH is set by `dotnet test`.
            var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path ? path : "dotnet";
            var start = new ProcessStartInfo(_asRoot ? "setpriv" : host)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = _copy.Path,
            };
            if (_asRoot)
            {
                foreach (var option in new[] { $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", host })
                {
                    start.ArgumentList.Add(option);
                }
            }

            start.ArgumentList.Add(_copy.File("CircuitDsl.Cli.dll"));
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["HOME"] = _copy.Path;
            start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"circuitdsl {string.Join(" ", args)} did not finish in 2 minutes.");
            }

            return (process.ExitCode, stdout.Result, stderr.Result);
        }

        public void Dispose() => _copy.Dispose();

        private static string EffectiveUid() =>
            File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal))
                .Split('\t', StringSplitOptions.RemoveEmptyEntries)[2];
    }
}
