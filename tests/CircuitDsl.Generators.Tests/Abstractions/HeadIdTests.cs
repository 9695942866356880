namespace CircuitDsl.Generators.Tests.Abstractions;

/// <summary>
/// The head-id grammar, shared by the runtime and (compiled in, not copied) by the generator: what it accepts,
/// what it rejects and why, and that parsing and printing are inverse.
/// </summary>
public sealed class HeadIdTests
{
    [Theory]
    [InlineData("0.0", 0, 0)]
    [InlineData("1.4", 1, 4)]
    [InlineData("11.10", 11, 10)]
    [InlineData("2147483647.0", int.MaxValue, 0)]
    public void Parses_layer_dot_head(string text, int layer, int head)
    {
        HeadId.TryParse(text, out var id, out var error).Should().BeTrue();
        error.Should().BeNull();
        id.Should().Be(new HeadId(layer, head));
        id.ToString().Should().Be(text);
        HeadId.Parse(text).Should().Be(id);
    }

    [Theory]
    [InlineData(null, "A head id is empty; write it as layer.head, like \"1.4\".")]
    [InlineData("", "A head id is empty; write it as layer.head, like \"1.4\".")]
    [InlineData("14", "'14' is not a head id: it has no '.'; write layer.head, like \"1.4\".")]
    [InlineData("1.2.3", "'1.2.3' is not a head id: it has more than one '.'; write layer.head, like \"1.4\".")]
    [InlineData("0.2, 1.3", "'0.2, 1.3' is not a head id: it lists several heads; give each its own string: \"0.2\", \"1.3\".")]
    [InlineData("0.2,1.3,x", "'0.2,1.3,x' is not a head id: it lists several heads; give each its own string: \"0.2\", \"1.3\", \"x\".")]
    [InlineData(".4", "'.4' is not a head id: the layer is missing; write layer.head, like \"1.4\".")]
    [InlineData("1.", "'1.' is not a head id: the head is missing; write layer.head, like \"1.4\".")]
    [InlineData("-1.4", "'-1.4' is not a head id: the layer '-1' is not a non-negative whole number; write layer.head, like \"1.4\".")]
    [InlineData("1. 4", "'1. 4' is not a head id: the head ' 4' is not a non-negative whole number; write layer.head, like \"1.4\".")]
    [InlineData("١.٤", "'١.٤' is not a head id: the layer '١' is not a non-negative whole number; write layer.head, like \"1.4\".")]
    [InlineData("01.4", "'01.4' is not a head id: the layer has a leading zero; write \"1.4\".")]
    [InlineData("2147483648.0", "'2147483648.0' is not a head id: the layer is too large.")]
    public void Rejects_anything_else_with_a_reason(string? text, string error)
    {
        HeadId.TryParse(text, out _, out var actual).Should().BeFalse();
        actual.Should().Be(error);
        var parse = () => HeadId.Parse(text!);
        parse.Should().Throw<FormatException>().WithMessage(error.Replace("*", "[*]", StringComparison.Ordinal));
    }

    [Fact]
    public void Printing_and_parsing_are_inverse_and_equality_is_by_value()
    {
        for (var layer = 0; layer < 12; layer++)
        {
            for (var head = 0; head < 12; head++)
            {
                var id = new HeadId(layer, head);
                HeadId.Parse(id.ToString()).Should().Be(id);
                (HeadId.Parse(id.ToString()) == id).Should().BeTrue();
                HeadId.Parse(id.ToString()).GetHashCode().Should().Be(id.GetHashCode());
            }
        }

        (new HeadId(1, 2) != new HeadId(2, 1)).Should().BeTrue();
        new[] { new HeadId(1, 0), new HeadId(0, 3), new HeadId(0, 1) }.Order().Should()
            .Equal(new HeadId(0, 1), new HeadId(0, 3), new HeadId(1, 0));
    }

    [Fact]
    public void Negative_indices_are_refused()
    {
        var negativeLayer = () => new HeadId(-1, 0);
        var negativeHead = () => new HeadId(0, -1);
        negativeLayer.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("layer");
        negativeHead.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("head");
    }

    [Fact]
    public void Enum_values_have_their_TransformerLens_config_spellings()
    {
        Normalization.LN.ToConfigValue().Should().Be("LN");
        Normalization.LNPre.ToConfigValue().Should().Be("LNPre");
        Normalization.None.ToConfigValue().Should().BeNull();
        PositionalEmbedding.Standard.ToConfigValue().Should().Be("standard");
        PositionalEmbedding.Shortformer.ToConfigValue().Should().Be("shortformer");
        ActivationFunction.Relu.ToConfigValue().Should().Be("relu");
        ActivationFunction.Gelu.ToConfigValue().Should().Be("gelu");
        ActivationFunction.GeluNew.ToConfigValue().Should().Be("gelu_new");
    }

    [Theory]
    [InlineData("0.previous-token", 0, HeadRole.PreviousToken)]
    [InlineData("1.induction", 1, HeadRole.Induction)]
    [InlineData("3.duplicate-token", 3, HeadRole.DuplicateToken)]
    [InlineData("0.copying", 0, HeadRole.Copying)]
    public void Parses_layer_dot_role_where_a_spec_names_a_head_by_its_role(string text, int layer, HeadRole role)
    {
        HeadId.TryParseHeadOrRole(text, out var id, out var error).Should().BeTrue();
        error.Should().BeNull();
        id.Should().Be(new HeadId(layer, role));
        (id.Layer, id.Head, id.Role).Should().Be((layer, -1, role));
        id.ToString().Should().Be(text);
        id.Should().NotBe(new HeadId(layer, 0));
        HeadId.TryParse(text, out _, out _).Should().BeFalse("a head id the runtime's commands take is always a head index");
    }

    [Theory]
    [InlineData("0.previous", "'0.previous' is not a head id: 'previous' is neither a head index nor a role (roles: previous-token, duplicate-token, induction, copying).")]
    [InlineData("01.induction", "'01.induction' is not a head id: the layer has a leading zero; write \"1.induction\".")]
    [InlineData("1.4", null)]
    public void A_role_head_is_parsed_by_the_same_grammar_and_says_what_is_wrong(string text, string? expected)
    {
        HeadId.TryParseHeadOrRole(text, out _, out var error).Should().Be(expected is null);
        error.Should().Be(expected);
    }
}
