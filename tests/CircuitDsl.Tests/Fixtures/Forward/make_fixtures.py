#!/usr/bin/python3
"""Reference logits for the forward pass, computed by PyTorch on seeded random weights.

An independent implementation of the forward pass of docs/math.md (TransformerLens conventions) in torch, run in
double precision. Each fixture is JSON: the config, every weight under its TransformerLens state-dict
name (nested lists), the tokens, and the logits. Regenerate with:

    /usr/bin/python3 tests/CircuitDsl.Tests/Fixtures/Forward/make_fixtures.py
"""
import json
import math
import os

import torch

torch.set_num_threads(2)
HERE = os.path.dirname(os.path.abspath(__file__))

CONFIGS = {
    "attn_only_2l": dict(n_layers=2, n_heads=3, d_model=12, d_head=4, d_vocab=11, n_ctx=7, d_mlp=None,
                         attn_only=True, act_fn=None, normalization_type=None,
                         positional_embedding_type="standard"),
    "ln_mlp_gelu_new": dict(n_layers=2, n_heads=2, d_model=10, d_head=5, d_vocab=9, n_ctx=6, d_mlp=16,
                            attn_only=False, act_fn="gelu_new", normalization_type="LN",
                            positional_embedding_type="standard"),
    "lnpre_relu_shortformer": dict(n_layers=1, n_heads=2, d_model=8, d_head=3, d_vocab=13, n_ctx=6, d_mlp=12,
                                   attn_only=False, act_fn="relu", normalization_type="LNPre",
                                   positional_embedding_type="shortformer"),
    "ln_gelu_1l": dict(n_layers=1, n_heads=4, d_model=8, d_head=2, d_vocab=7, n_ctx=5, d_mlp=8,
                       attn_only=False, act_fn="gelu", normalization_type="LN",
                       positional_embedding_type="standard"),
    "zero_layer": dict(n_layers=0, n_heads=1, d_model=6, d_head=1, d_vocab=9, n_ctx=5, d_mlp=None,
                       attn_only=True, act_fn=None, normalization_type=None,
                       positional_embedding_type="standard"),
}


def random_weights(cfg, gen):
    def r(*shape, scale=0.5):
        return torch.randn(*shape, generator=gen, dtype=torch.float64) * scale

    dm, h, dh, v = cfg["d_model"], cfg["n_heads"], cfg["d_head"], cfg["d_vocab"]
    w = {"embed.W_E": r(v, dm), "pos_embed.W_pos": r(cfg["n_ctx"], dm)}
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}."
        if cfg["normalization_type"] == "LN":
            w[p + "ln1.w"] = 1 + r(dm, scale=0.2)
            w[p + "ln1.b"] = r(dm, scale=0.2)
            if not cfg["attn_only"]:
                w[p + "ln2.w"] = 1 + r(dm, scale=0.2)
                w[p + "ln2.b"] = r(dm, scale=0.2)
        for name in ("W_Q", "W_K", "W_V"):
            w[p + "attn." + name] = r(h, dm, dh)
        w[p + "attn.W_O"] = r(h, dh, dm)
        for name in ("b_Q", "b_K", "b_V"):
            w[p + "attn." + name] = r(h, dh, scale=0.2)
        w[p + "attn.b_O"] = r(dm, scale=0.2)
        if not cfg["attn_only"]:
            w[p + "mlp.W_in"] = r(dm, cfg["d_mlp"])
            w[p + "mlp.b_in"] = r(cfg["d_mlp"], scale=0.2)
            w[p + "mlp.W_out"] = r(cfg["d_mlp"], dm)
            w[p + "mlp.b_out"] = r(dm, scale=0.2)
    if cfg["normalization_type"] == "LN":
        w["ln_final.w"] = 1 + r(dm, scale=0.2)
        w["ln_final.b"] = r(dm, scale=0.2)
    w["unembed.W_U"] = r(dm, v)
    w["unembed.b_U"] = r(v, scale=0.2)
    return w


def layer_norm(x, weight=None, bias=None):
    x = x - x.mean(-1, keepdim=True)
    x = x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5)
    return x if weight is None else x * weight + bias


def activation(x, act_fn):
    if act_fn == "relu":
        return torch.relu(x)
    if act_fn == "gelu":
        return torch.nn.functional.gelu(x)
    if act_fn == "gelu_new":
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x.pow(3))))
    raise ValueError(act_fn)


def forward(cfg, w, tokens):
    norm = cfg["normalization_type"]

    def ln(x, name):
        if norm == "LN":
            return layer_norm(x, w[name + ".w"], w[name + ".b"])
        if norm == "LNPre":
            return layer_norm(x)
        return x

    n = tokens.shape[1]
    pos = w["pos_embed.W_pos"][:n].unsqueeze(0)
    shortformer = cfg["positional_embedding_type"] == "shortformer"
    resid = w["embed.W_E"][tokens] + (0 if shortformer else pos)
    mask = torch.tril(torch.ones(n, n, dtype=torch.bool))
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}."
        x = ln(resid, p + "ln1")
        qk_in = x + pos if shortformer else x
        q = torch.einsum("bpm,hmd->bphd", qk_in, w[p + "attn.W_Q"]) + w[p + "attn.b_Q"]
        k = torch.einsum("bpm,hmd->bphd", qk_in, w[p + "attn.W_K"]) + w[p + "attn.b_K"]
        v = torch.einsum("bpm,hmd->bphd", x, w[p + "attn.W_V"]) + w[p + "attn.b_V"]
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(cfg["d_head"])
        scores = scores.masked_fill(~mask, float("-inf"))
        pattern = scores.softmax(-1)
        z = torch.einsum("bhqk,bkhd->bqhd", pattern, v)
        attn_out = torch.einsum("bqhd,hdm->bqm", z, w[p + "attn.W_O"]) + w[p + "attn.b_O"]
        resid = resid + attn_out
        if not cfg["attn_only"]:
            x = ln(resid, p + "ln2")
            post = activation(x @ w[p + "mlp.W_in"] + w[p + "mlp.b_in"], cfg["act_fn"])
            resid = resid + post @ w[p + "mlp.W_out"] + w[p + "mlp.b_out"]
    return ln(resid, "ln_final") @ w["unembed.W_U"] + w["unembed.b_U"]


def main():
    for i, (name, cfg) in enumerate(sorted(CONFIGS.items())):
        gen = torch.Generator().manual_seed(1000 + i)
        w = random_weights(cfg, gen)
        tokens = torch.randint(0, cfg["d_vocab"], (3, cfg["n_ctx"]), generator=gen)
        # The weights are stored as float32; the logits are computed (in double) from those float32 values.
        w32 = {k: v.float().double() for k, v in w.items()}
        fixture = {
            "config": cfg,
            "weights": {k: v.tolist() for k, v in w32.items()},
            "tokens": tokens.tolist(),
            "logits": forward(cfg, w32, tokens).tolist(),
        }
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            json.dump(fixture, f, separators=(",", ":"))
        print(name, "written")


if __name__ == "__main__":
    main()
