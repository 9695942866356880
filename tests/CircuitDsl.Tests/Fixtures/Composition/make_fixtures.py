#!/usr/bin/python3
"""The composition fixtures: three seeded random parts without LayerNorm, their logits, and PyTorch's reading of the
composite folder that `circuitdsl compose` writes from them.

Stage 1 (no arguments) writes the parts as model folders (config.json + model.safetensors, float32):
- part_a: 1 layer, 2 heads, d_model 8, d_head 4, a ReLU MLP of 12, n_ctx 8;
- part_b: 2 layers, 3 heads, d_model 6, d_head 2 (smaller than part_a's: the composite pads it), attention only, n_ctx 10;
- part_c: 0 layers, d_model 5 (a bigram table);
all over one vocabulary of 11 tokens, and parts.json: the tokens and each part's logits (float64 forward pass here).

Stage 2 (`--composite DIR`) reads the composite folder with its own safetensors reader and forward pass, checks that
its logits are the sum of the parts' (the direct-sum identity, to float tolerance) and writes composite.json: the
composite's logits and mean next-token loss. The test compares ours with both. Regenerate with:

    /usr/bin/python3 tests/CircuitDsl.Tests/Fixtures/Composition/make_fixtures.py
    dotnet run --project src/CircuitDsl.Cli -- compose --part tests/CircuitDsl.Tests/Fixtures/Composition/part_a \\
        --part tests/CircuitDsl.Tests/Fixtures/Composition/part_b --part tests/CircuitDsl.Tests/Fixtures/Composition/part_c \\
        --out tests/CircuitDsl.Tests/Fixtures/Composition/composite
    /usr/bin/python3 tests/CircuitDsl.Tests/Fixtures/Composition/make_fixtures.py --composite tests/CircuitDsl.Tests/Fixtures/Composition/composite
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "Paths"))
from make_fixtures import random_weights, rounded, write_safetensors  # noqa: E402

torch.set_num_threads(2)

PARTS = {
    "part_a": dict(n_layers=1, n_heads=2, d_model=8, d_head=4, d_vocab=11, n_ctx=8, d_mlp=12, attn_only=False,
                   act_fn="relu", normalization_type=None, positional_embedding_type="standard", seed=None),
    "part_b": dict(n_layers=2, n_heads=3, d_model=6, d_head=2, d_vocab=11, n_ctx=10, d_mlp=None, attn_only=True,
                   act_fn=None, normalization_type=None, positional_embedding_type="standard", seed=None),
    "part_c": dict(n_layers=0, n_heads=1, d_model=5, d_head=1, d_vocab=11, n_ctx=8, d_mlp=None, attn_only=True,
                   act_fn=None, normalization_type=None, positional_embedding_type="standard", seed=None),
}


def forward(cfg, w, tokens):
    """A TransformerLens forward pass without LayerNorm (standard positions; attention only or a ReLU MLP)."""
    n = tokens.shape[1]
    resid = w["embed.W_E"][tokens] + w["pos_embed.W_pos"][:n]
    mask = torch.tril(torch.ones(n, n, dtype=torch.bool))
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}."
        q = torch.einsum("bpm,hmd->bphd", resid, w[p + "attn.W_Q"]) + w[p + "attn.b_Q"]
        k = torch.einsum("bpm,hmd->bphd", resid, w[p + "attn.W_K"]) + w[p + "attn.b_K"]
        v = torch.einsum("bpm,hmd->bphd", resid, w[p + "attn.W_V"]) + w[p + "attn.b_V"]
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(cfg["d_head"])
        pattern = scores.masked_fill(~mask, float("-inf")).softmax(-1)
        z = torch.einsum("bhqk,bkhd->bqhd", pattern, v)
        resid = resid + torch.einsum("bqhd,hdm->bqm", z, w[p + "attn.W_O"]) + w[p + "attn.b_O"]
        if not cfg["attn_only"]:
            assert cfg["act_fn"] == "relu"
            resid = resid + torch.relu(resid @ w[p + "mlp.W_in"] + w[p + "mlp.b_in"]) @ w[p + "mlp.W_out"] + w[p + "mlp.b_out"]
    return resid @ w["unembed.W_U"] + w["unembed.b_U"]


def loss(logits, tokens):
    logp = logits[:, :-1].log_softmax(-1)
    return -logp.gather(-1, tokens[:, 1:].unsqueeze(-1)).mean().item()


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    base = 8 + length
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", meta
        start, end = meta["data_offsets"]
        arr = np.frombuffer(data[base + start:base + end], dtype="<f4").reshape(meta["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float64))
    return out


def nested(t):
    return [nested(x) for x in t] if t.dim() > 0 else rounded(t.item())


def stage_parts():
    gen = torch.Generator().manual_seed(4100)
    tokens = torch.randint(0, 11, (3, 8), generator=gen)
    expected = {"tokens": tokens.tolist(), "parts": {}}
    for name, cfg in PARTS.items():
        w = random_weights(cfg, gen)
        folder = os.path.join(HERE, name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        write_safetensors(os.path.join(folder, "model.safetensors"), {k: v.float() for k, v in w.items()})
        # The logits of the float32 weights as written, computed in float64.
        w32 = {k: v.float().double() for k, v in w.items()}
        expected["parts"][name] = nested(forward(cfg, w32, tokens))
    with open(os.path.join(HERE, "parts.json"), "w") as f:
        json.dump(expected, f)


def stage_composite(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    w = read_safetensors(os.path.join(folder, "model.safetensors"))
    with open(os.path.join(HERE, "parts.json")) as f:
        parts = json.load(f)
    tokens = torch.tensor(parts["tokens"])
    logits = forward(cfg, w, tokens)
    total = sum(torch.tensor(v, dtype=torch.float64) for v in parts["parts"].values())
    gap = (logits - total).abs().max().item()
    assert gap < 1e-4, f"the composite's logits differ from the sum of its parts' by {gap}"
    with open(os.path.join(HERE, "composite.json"), "w") as f:
        json.dump({"logits": nested(logits), "loss": rounded(loss(logits, tokens)), "max_gap_to_sum_of_parts": gap}, f)
    print(f"composite: loss {loss(logits, tokens):.6f}, largest gap to the sum of the parts' logits {gap:.2e}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--composite":
        stage_composite(sys.argv[2])
    else:
        stage_parts()
