#!/usr/bin/python3
"""PyTorch reads the model folders `circuitdsl extract` and `circuitdsl rotate` write, and measures them.

The source models are the path fixtures' seeded random models (../Paths: ln_mlp_3l, LayerNorm + GELU MLPs;
lnpre_shortformer_3l, LNPre, shortformer positions, attention only) and one written here without LayerNorm
(none_mlp_2l). For each case below this script runs the command line (built beforehand with
`dotnet build src/CircuitDsl.Cli`), which writes a model folder under out/; it then loads that folder with its own
safetensors reader and runs the path fixtures' plain-torch forward pass (double precision) on it:

- extract cases: the extracted model's mean next-token loss on tokens.json;
- rotate cases: the rotated model's logits on tokens.json, beside the source model's.

expected.json holds {"cases": [{"name", "args", "loss" | "logits", "original_logits"}]}. The tests rerun each command
and check that it writes the same folder, that PyTorch's loss of an extracted model equals the loss of the source
model with the same parts mean-ablated (computed by the runtime's hooks), and that PyTorch's logits of a rotated model
equal the source's to 1e-4 relative (residual stream, head bases) or differ (neurons). Regenerate with:

    dotnet build src/CircuitDsl.Cli && /usr/bin/python3 tests/CircuitDsl.Tests/Fixtures/Surgery/make_fixtures.py
"""
import json
import os
import shutil
import struct
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
PATHS = os.path.join(HERE, "..", "Paths")
sys.dont_write_bytecode = True
sys.path.insert(0, PATHS)
from make_fixtures import forward, random_weights, rounded, write_safetensors  # noqa: E402

torch.set_num_threads(2)
CLI = ["dotnet", os.path.join(ROOT, "src", "CircuitDsl.Cli", "bin", "Debug", "net10.0", "CircuitDsl.Cli.dll")]

NONE_MLP = dict(n_layers=2, n_heads=2, d_model=8, d_head=3, d_vocab=6, n_ctx=5, d_mlp=12, attn_only=False,
                act_fn="gelu_new", normalization_type=None, positional_embedding_type="standard")

# (name, source model, command and its arguments after the source folder)
CASES = [
    ("extract_ln_mlp_heads", "ln_mlp_3l", ["extract", "--heads", "0.1,2.0"]),
    ("extract_ln_mlp_heads_and_mlps", "ln_mlp_3l", ["extract", "--heads", "1.1,2.0,2.1", "--mlps", "0,2"]),
    ("extract_none_mlp_no_mlps", "none_mlp_2l", ["extract", "--heads", "1.0", "--mlps", "none"]),
    ("extract_lnpre_shortformer", "lnpre_shortformer_3l", ["extract", "--heads", "0.0,1.1,1.0"]),
    ("rotate_ln_mlp_residual", "ln_mlp_3l", ["rotate", "--seed", "7"]),
    ("rotate_ln_mlp_heads", "ln_mlp_3l", ["rotate", "--seed", "7", "--head-basis"]),
    ("rotate_ln_mlp_neurons", "ln_mlp_3l", ["rotate", "--seed", "7", "--neurons"]),
    ("rotate_none_mlp_residual", "none_mlp_2l", ["rotate", "--seed", "8"]),
    ("rotate_lnpre_shortformer_residual", "lnpre_shortformer_3l", ["rotate", "--seed", "9"]),
    ("rotate_lnpre_shortformer_heads", "lnpre_shortformer_3l", ["rotate", "--seed", "9", "--head-basis"]),
]


def source_dir(name):
    return os.path.join(HERE, name) if name == "none_mlp_2l" else os.path.join(PATHS, name)


def read_safetensors(path):
    """The safetensors format by hand: u64 LE header length, JSON header, then F32 little-endian data."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info
        start, end = info["data_offsets"]
        values = torch.tensor(struct.unpack(f"<{(end - start) // 4}f", body[start:end]), dtype=torch.float64)
        tensors[name] = values.reshape(info["shape"])
    return tensors


def load(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    return cfg, read_safetensors(os.path.join(folder, "model.safetensors"))


def loss_of(cfg, logits, tokens):
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, cfg["d_vocab"]), tokens[:, 1:].reshape(-1)).item()


def nested(t):
    return [[[rounded(x) for x in row] for row in seq] for seq in t.tolist()]


def main():
    gen = torch.Generator().manual_seed(3100)
    none_dir = source_dir("none_mlp_2l")
    os.makedirs(none_dir, exist_ok=True)
    with open(os.path.join(none_dir, "config.json"), "w") as f:
        json.dump(NONE_MLP, f, indent=2)
    write_safetensors(os.path.join(none_dir, "model.safetensors"), random_weights(NONE_MLP, gen))
    tokens = torch.randint(0, 6, (4, 5), generator=gen)
    tokens_path = os.path.join(HERE, "tokens.json")
    with open(tokens_path, "w") as f:
        json.dump(tokens.tolist(), f)

    out_root = os.path.join(HERE, "out")
    shutil.rmtree(out_root, ignore_errors=True)
    cases = []
    for name, source, command in CASES:
        out = os.path.join(out_root, name)
        args = command[:1] + [source_dir(source)] + command[1:] + ["--tokens", tokens_path, "--out", out]
        subprocess.run(CLI + args, check=True, stdout=subprocess.DEVNULL)
        cfg, w = load(out)
        logits, _ = forward(cfg, w, tokens)
        case = {"name": name, "source": source, "args": command}
        if command[0] == "extract":
            case["loss"] = loss_of(cfg, logits, tokens)
        else:
            source_cfg, source_w = load(source_dir(source))
            original, _ = forward(source_cfg, source_w, tokens)
            case["logits"] = nested(logits)
            case["original_logits"] = nested(original)
            case["relative_difference"] = ((logits - original).abs().max() / original.abs().max()).item()
        cases.append(case)
        print(name, {k: v for k, v in case.items() if k in ("loss", "relative_difference")})
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump({"cases": cases}, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
