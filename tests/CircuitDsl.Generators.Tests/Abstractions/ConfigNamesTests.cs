namespace CircuitDsl.Generators.Tests.Abstractions;

/// <summary>
/// The TransformerLens spellings of the architecture enums, shared by the runtime's config.json converters, the
/// CLI's flags and (compiled in) the generator: every value reads back from its spelling, and nothing else reads.
/// </summary>
public sealed class ConfigNamesTests
{
    [Theory]
    [InlineData(Normalization.LN, "LN")]
    [InlineData(Normalization.LNPre, "LNPre")]
    [InlineData(Normalization.None, null)]
    public void Normalization_reads_back_from_its_spelling(Normalization value, string? spelling)
    {
        value.ToConfigValue().Should().Be(spelling);
        ConfigNames.TryParse(spelling, out Normalization read).Should().BeTrue();
        read.Should().Be(value);
    }

    [Theory]
    [InlineData(PositionalEmbedding.Standard, "standard")]
    [InlineData(PositionalEmbedding.Shortformer, "shortformer")]
    public void Positional_embedding_reads_back_from_its_spelling(PositionalEmbedding value, string spelling)
    {
        value.ToConfigValue().Should().Be(spelling);
        ConfigNames.TryParse(spelling, out PositionalEmbedding read).Should().BeTrue();
        read.Should().Be(value);
    }

    [Theory]
    [InlineData(ActivationFunction.Gelu, "gelu")]
    [InlineData(ActivationFunction.GeluNew, "gelu_new")]
    [InlineData(ActivationFunction.Relu, "relu")]
    public void Activation_function_reads_back_from_its_spelling(ActivationFunction value, string spelling)
    {
        value.ToConfigValue().Should().Be(spelling);
        ConfigNames.TryParse(spelling, out ActivationFunction read).Should().BeTrue();
        read.Should().Be(value);
    }

    [Theory]
    [InlineData("ln")]
    [InlineData("RMS")]
    [InlineData("None")]
    [InlineData("")]
    public void Other_normalization_spellings_are_refused(string spelling) =>
        ConfigNames.TryParse(spelling, out Normalization _).Should().BeFalse("TransformerLens compares spellings exactly");

    [Fact]
    public void Null_is_a_spelling_only_of_no_normalization()
    {
        ConfigNames.TryParse(null, out PositionalEmbedding _).Should().BeFalse();
        ConfigNames.TryParse(null, out ActivationFunction _).Should().BeFalse();
    }

    [Fact]
    public void Choices_list_every_spelling_for_messages()
    {
        ConfigNames.Choices<Normalization>().Should().Be("LN, LNPre or null");
        ConfigNames.Choices<Normalization>(none: "none").Should().Be("LN, LNPre or none");
        ConfigNames.Choices<PositionalEmbedding>().Should().Be("standard or shortformer");
        ConfigNames.Choices<ActivationFunction>().Should().Be("gelu, gelu_new or relu");
    }

    [Fact]
    public void Choices_of_another_enum_are_refused()
    {
        var choices = () => ConfigNames.Choices<DayOfWeek>();
        choices.Should().Throw<ArgumentException>().WithMessage("DayOfWeek is not an architecture enum.*");
    }
}
