using CircuitDsl.Weights;

namespace CircuitDsl.Specs.Tests;

public sealed class MissingWeightsTests
{
    [Fact]
    public void A_spec_whose_weights_are_missing_fails_naming_the_folder_it_expected()
    {
        var missing = Path.Combine(Path.GetTempPath(), "circuitdsl-no-such-weights", "induction-2l");

        var act = () => Induction2L.Load(missing);

        act.Should().Throw<WeightsFormatException>().WithMessage($"{missing}: the model folder does not exist.");
    }

    [Fact]
    public void A_folder_without_weights_fails_naming_the_files_it_expected()
    {
        var dir = Directory.CreateTempSubdirectory("circuitdsl-config-only").FullName;
        try
        {
            using (var trained = new TrainedSeeds<Induction2L>())
            {
                File.Copy(Path.Combine(trained.Directories[0], ModelFolder.ConfigFileName), Path.Combine(dir, ModelFolder.ConfigFileName));
            }

            var act = () => Induction2L.Load(dir);

            act.Should().Throw<WeightsFormatException>().WithMessage($"*{dir}*no weights file: expected model.safetensors or model.pth.");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
