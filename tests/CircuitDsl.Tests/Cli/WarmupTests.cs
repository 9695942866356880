using CircuitDsl.Cli;

namespace CircuitDsl.Tests.Cli;

public sealed class WarmupTests
{
    [Fact]
    public async Task The_warm_up_runs_its_tiny_model_to_the_end()
    {
        // The tool never waits for the warm-up, so a workload that broke (a config the model refuses, an exception in a
        // kernel) would only go unnoticed there, leaving the code to compile in the middle of the work again.
        var warmup = Warmup.Start();

        await warmup;

        warmup.IsCompletedSuccessfully.Should().BeTrue();
    }
}
