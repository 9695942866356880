#!/usr/bin/python3
"""Expected path-expansion terms, computed by PyTorch on seeded random weights.

An independent implementation of docs/math.md's "Path expansion" in plain torch (double precision): its own forward
pass records the attention patterns, the LayerNorm scales and the MLP outputs; then every path (a source, then heads
in strictly increasing layers, each read through its value input) is enumerated recursively and pushed through the
frozen final LayerNorm and W_U. Each model is written as a model folder (config.json + model.safetensors, float32)
next to tokens.json and terms.json: {"terms": [{"source", "heads", "logits"}], "importance": [{"order", "loss"}]}.
Regenerate with:

    /usr/bin/python3 tests/CircuitDsl.Tests/Fixtures/Paths/make_fixtures.py
"""
import json
import math
import os
import struct

import torch

torch.set_num_threads(2)
HERE = os.path.dirname(os.path.abspath(__file__))
EPS = 1e-5

MODELS = {
    "ln_mlp_3l": dict(n_layers=3, n_heads=2, d_model=8, d_head=3, d_vocab=6, n_ctx=5, d_mlp=12, attn_only=False,
                      act_fn="gelu_new", normalization_type="LN", positional_embedding_type="standard"),
    "lnpre_shortformer_3l": dict(n_layers=3, n_heads=2, d_model=8, d_head=3, d_vocab=6, n_ctx=5, d_mlp=None,
                                 attn_only=True, act_fn=None, normalization_type="LNPre",
                                 positional_embedding_type="shortformer"),
}


def random_weights(cfg, gen):
    def r(*shape, scale=0.6):
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


def scale_of(x):
    """The LayerNorm scale sqrt(var + eps) of each position, [batch, pos, 1]."""
    centred = x - x.mean(-1, keepdim=True)
    return torch.sqrt(centred.pow(2).mean(-1, keepdim=True) + EPS)


def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x.pow(3))))


def forward(cfg, w, tokens):
    """The real forward pass; returns the logits and what the expansion freezes or reads."""
    norm = cfg["normalization_type"]

    def ln(x, name):
        if norm is None:
            return x
        y = (x - x.mean(-1, keepdim=True)) / scale_of(x)
        return y * w[name + ".w"] + w[name + ".b"] if norm == "LN" else y

    n = tokens.shape[1]
    pos = w["pos_embed.W_pos"][:n].unsqueeze(0)
    shortformer = cfg["positional_embedding_type"] == "shortformer"
    resid = w["embed.W_E"][tokens] + (0 if shortformer else pos)
    mask = torch.tril(torch.ones(n, n, dtype=torch.bool))
    cache = {"patterns": [], "scales": [], "mlp_out": []}
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}."
        cache["scales"].append(scale_of(resid))
        x = ln(resid, p + "ln1")
        qk_in = x + pos if shortformer else x
        q = torch.einsum("bpm,hmd->bphd", qk_in, w[p + "attn.W_Q"]) + w[p + "attn.b_Q"]
        k = torch.einsum("bpm,hmd->bphd", qk_in, w[p + "attn.W_K"]) + w[p + "attn.b_K"]
        v = torch.einsum("bpm,hmd->bphd", x, w[p + "attn.W_V"]) + w[p + "attn.b_V"]
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(cfg["d_head"])
        pattern = scores.masked_fill(~mask, float("-inf")).softmax(-1)
        cache["patterns"].append(pattern)
        z = torch.einsum("bhqk,bkhd->bqhd", pattern, v)
        resid = resid + torch.einsum("bqhd,hdm->bqm", z, w[p + "attn.W_O"]) + w[p + "attn.b_O"]
        if not cfg["attn_only"]:
            x = ln(resid, p + "ln2")
            mlp_out = gelu_new(x @ w[p + "mlp.W_in"] + w[p + "mlp.b_in"]) @ w[p + "mlp.W_out"] + w[p + "mlp.b_out"]
            cache["mlp_out"].append(mlp_out)
            resid = resid + mlp_out
    cache["final_scale"] = scale_of(resid)
    return ln(resid, "ln_final") @ w["unembed.W_U"] + w["unembed.b_U"], cache


def expand(cfg, w, tokens):
    """Every path's logits, by enumerating the paths one at a time (no shared prefixes, no recursion over orders)."""
    logits, cache = forward(cfg, w, tokens)
    norm, n_layers, n_heads = cfg["normalization_type"], cfg["n_layers"], cfg["n_heads"]
    batch, n = tokens.shape

    def frozen_norm(r, scale, weight):
        if norm is None:
            return r
        y = (r - r.mean(-1, keepdim=True)) / scale
        return y * weight if norm == "LN" else y

    def through(r, layer, head):
        p = f"blocks.{layer}.attn."
        x = frozen_norm(r, cache["scales"][layer], w.get(f"blocks.{layer}.ln1.w"))
        v = x @ w[p + "W_V"][head]
        return torch.einsum("bqk,bkd->bqd", cache["patterns"][layer][:, head], v) @ w[p + "W_O"][head]

    def unembed(r):
        return frozen_norm(r, cache["final_scale"], w.get("ln_final.w")) @ w["unembed.W_U"]

    sources = [("embed", w["embed.W_E"][tokens], 0)]
    if cfg["positional_embedding_type"] != "shortformer":
        sources.append(("pos_embed", w["pos_embed.W_pos"][:n].unsqueeze(0).expand(batch, n, -1), 0))
    for l in range(n_layers):
        p = f"blocks.{l}."
        constant = w[p + "attn.b_O"].clone()
        for h in range(n_heads):
            value = w[p + "attn.b_V"][h] + (w[p + "ln1.b"] @ w[p + "attn.W_V"][h] if norm == "LN" else 0)
            constant = constant + value @ w[p + "attn.W_O"][h]
        sources.append((f"b{l}", constant.expand(batch, n, -1), l + 1))
        if not cfg["attn_only"]:
            sources.append((f"mlp{l}", cache["mlp_out"][l], l + 1))

    def chains(first):
        """Every sequence of (layer, head) in strictly increasing layers from layer `first` on, the empty one first."""
        yield []
        for layer in range(first, n_layers):
            for head in range(n_heads):
                for rest in chains(layer + 1):
                    yield [(layer, head)] + rest

    terms = []
    for name, residual, first in sources:
        for chain in chains(first):
            r = residual
            for layer, head in chain:
                r = through(r, layer, head)
            terms.append((name, chain, unembed(r)))
    b_u = w["unembed.b_U"] + (w["ln_final.b"] @ w["unembed.W_U"] if norm == "LN" else 0)
    terms.append(("b_U", [], b_u.expand(batch, n, -1)))

    total = sum(t[2] for t in terms)
    assert torch.allclose(total, logits, atol=1e-10), (total - logits).abs().max()

    importance = []
    for k in range(n_layers + 1):
        partial = sum(t[2] for t in terms if len(t[1]) <= k)
        loss = torch.nn.functional.cross_entropy(partial[:, :-1].reshape(-1, cfg["d_vocab"]), tokens[:, 1:].reshape(-1))
        importance.append({"order": k, "loss": loss.item()})
    return terms, importance


def write_safetensors(path, sd):
    """The safetensors format by hand: u64 LE header length, JSON header padded with spaces to 8 bytes, data."""
    header, chunks, offset = {}, [], 0
    for name, t in sd.items():
        b = t.float().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


def rounded(x):
    return float(f"{x:.8g}")


def main():
    for i, (name, cfg) in enumerate(sorted(MODELS.items())):
        gen = torch.Generator().manual_seed(2000 + i)
        # Stored as float32; the expansion is computed (in double) from those float32 values.
        w = {k: v.float().double() for k, v in random_weights(cfg, gen).items()}
        tokens = torch.randint(0, cfg["d_vocab"], (2, 4), generator=gen)
        terms, importance = expand(cfg, w, tokens)
        d = os.path.join(HERE, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        write_safetensors(os.path.join(d, "model.safetensors"), w)
        with open(os.path.join(d, "tokens.json"), "w") as f:
            json.dump(tokens.tolist(), f)
        expected = {
            "terms": [{"source": s, "heads": [f"{l}.{h}" for l, h in chain],
                       "logits": [[[rounded(x) for x in row] for row in seq] for seq in t.tolist()]}
                      for s, chain, t in terms],
            "importance": importance,
        }
        with open(os.path.join(d, "terms.json"), "w") as f:
            json.dump(expected, f, separators=(",", ":"))
        print(name, len(terms), "terms written")


if __name__ == "__main__":
    main()
