#!/usr/bin/python3
"""Expected activation-patching sweeps, computed by plain PyTorch (double precision) on seeded random models.

The sweeps follow TransformerLens's patching module: the model runs on the corrupted tokens with one activation
replaced by its value on the clean tokens; the metric is the mean over sequences of
logit[answer] - logit[wrong] at the last position, normalised as (patched - corrupted) / (clean - corrupted).

- resid_pre, attn_out, mlp_out: one (layer, position) at a time -> [layer][pos];
- head_out: one head's hook_z at every position -> [layer][head]; head_out_by_pos: at one position -> [layer][pos][head];
- head_pattern: one head's hook_pattern (every query row) -> [layer][head];
- path patching from senders to receivers' q, k or v, written here from its definition rather than as hooks: a
  receiver's input is LN1(corrupted resid_pre + sum over senders of (clean result - corrupted result)), i.e. only the
  senders' direct writes change; its q/k/v from that input are patched into a corrupted run.

Models: a LayerNorm model with MLPs and an attention-only model without LayerNorm, each written as a model folder
(config.json + model.safetensors, float32) with clean.json, corrupted.json and expected.json. Regenerate with:

    /usr/bin/python3 tests/CircuitDsl.Tests/Fixtures/Patching/make_fixtures.py
"""
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "Paths"))
# The random weights, the LayerNorm scale, GELU and the safetensors writer are the path fixtures' own.
from make_fixtures import gelu_new, random_weights, rounded, scale_of, write_safetensors  # noqa: E402

torch.set_num_threads(2)

MODELS = {
    "ln_mlp_3l": dict(n_layers=3, n_heads=2, d_model=8, d_head=3, d_vocab=7, n_ctx=8, d_mlp=12, attn_only=False,
                      act_fn="gelu_new", normalization_type="LN", positional_embedding_type="standard"),
    "attn_only_2l": dict(n_layers=2, n_heads=3, d_model=9, d_head=3, d_vocab=7, n_ctx=8, d_mlp=None, attn_only=True,
                         act_fn=None, normalization_type=None, positional_embedding_type="standard"),
}
ANSWER, WRONG = 2, 5
PATHS = [  # (senders, receivers, via)
    (["0.0"], ["1.1"], "q"), (["0.1"], ["1.0"], "k"), (["0.0", "0.1"], ["1.1"], "v"), (["0.1"], ["2.0", "1.1"], "v"),
]


def ln(cfg, w, x, name):
    if cfg["normalization_type"] is None:
        return x
    return (x - x.mean(-1, keepdim=True)) / scale_of(x) * w[name + ".w"] + w[name + ".b"]


def run(cfg, w, tokens, hook=lambda name, x: x):
    """The forward pass with TL's hook points; hook(name, activation) returns the activation to go on with."""
    cache = {}

    def point(name, x):
        x = hook(name, x)
        cache[name] = x
        return x

    n = tokens.shape[1]
    resid = w["embed.W_E"][tokens] + w["pos_embed.W_pos"][:n].unsqueeze(0)
    mask = torch.tril(torch.ones(n, n, dtype=torch.bool))
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}."
        resid = point(p + "hook_resid_pre", resid)
        x = ln(cfg, w, resid, p + "ln1")
        q = point(p + "attn.hook_q", torch.einsum("bpm,hmd->bphd", x, w[p + "attn.W_Q"]) + w[p + "attn.b_Q"])
        k = point(p + "attn.hook_k", torch.einsum("bpm,hmd->bphd", x, w[p + "attn.W_K"]) + w[p + "attn.b_K"])
        v = point(p + "attn.hook_v", torch.einsum("bpm,hmd->bphd", x, w[p + "attn.W_V"]) + w[p + "attn.b_V"])
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(cfg["d_head"])
        pattern = point(p + "attn.hook_pattern", scores.masked_fill(~mask, float("-inf")).softmax(-1))
        z = point(p + "attn.hook_z", torch.einsum("bhqk,bkhd->bqhd", pattern, v))
        cache[p + "attn.hook_result"] = torch.einsum("bqhd,hdm->bqhm", z, w[p + "attn.W_O"])
        attn_out = point(p + "hook_attn_out", cache[p + "attn.hook_result"].sum(-2) + w[p + "attn.b_O"])
        resid = resid + attn_out
        if not cfg["attn_only"]:
            x = ln(cfg, w, resid, p + "ln2")
            mlp = point(p + "hook_mlp_out", gelu_new(x @ w[p + "mlp.W_in"] + w[p + "mlp.b_in"]) @ w[p + "mlp.W_out"] + w[p + "mlp.b_out"])
            resid = resid + mlp
    return ln(cfg, w, resid, "ln_final") @ w["unembed.W_U"] + w["unembed.b_U"], cache


def metric(logits):
    return (logits[:, -1, ANSWER] - logits[:, -1, WRONG]).mean().item()


def patched(cfg, w, corrupted, name, replace, norm):
    def hook(n, x):
        if n != name:
            return x
        x = x.clone()
        replace(x)
        return x
    return norm(run(cfg, w, corrupted, hook)[0])


def path_patch(cfg, w, clean_cache, corrupted_cache, corrupted, senders, receivers, via, norm):
    patches = {}
    for layer in sorted({int(r.split(".")[0]) for r in receivers}):
        p = f"blocks.{layer}."
        resid = corrupted_cache[p + "hook_resid_pre"].clone()
        for s in senders:
            sl, sh = (int(x) for x in s.split("."))
            key = f"blocks.{sl}.attn.hook_result"
            resid += clean_cache[key][:, :, sh] - corrupted_cache[key][:, :, sh]
        x = ln(cfg, w, resid, p + "ln1")
        W, b = w[p + "attn.W_" + via.upper()], w[p + "attn.b_" + via.upper()]
        value = torch.einsum("bpm,hmd->bphd", x, W) + b
        heads = [int(r.split(".")[1]) for r in receivers if int(r.split(".")[0]) == layer]
        patches[p + "attn.hook_" + via] = (value, heads)

    def hook(n, x):
        if n not in patches:
            return x
        value, heads = patches[n]
        x = x.clone()
        x[:, :, heads] = value[:, :, heads]
        return x
    return norm(run(cfg, w, corrupted, hook)[0])


def make(name, cfg, seed):
    gen = torch.Generator().manual_seed(seed)
    w = {k: v.float().double() for k, v in random_weights(cfg, gen).items()}
    clean = torch.randint(0, cfg["d_vocab"], (2, 6), generator=gen)
    corrupted = clean.clone()
    corrupted[:, 1] = (clean[:, 1] + 1) % cfg["d_vocab"]
    corrupted[:, 3] = (clean[:, 3] + 3) % cfg["d_vocab"]
    clean_logits, clean_cache = run(cfg, w, clean)
    corrupted_logits, corrupted_cache = run(cfg, w, corrupted)
    m_clean, m_corr = metric(clean_logits), metric(corrupted_logits)
    assert abs(m_clean - m_corr) > 0.3, (name, m_clean, m_corr)

    def norm(logits):
        return (metric(logits) - m_corr) / (m_clean - m_corr)

    L, H, n = cfg["n_layers"], cfg["n_heads"], clean.shape[1]

    def at_pos(key, pos):
        def replace(x):
            x[:, pos] = clean_cache[key][:, pos]
        return replace

    def sweep_positions(hook_name):
        return [[rounded(patched(cfg, w, corrupted, f"blocks.{l}.{hook_name}", at_pos(f"blocks.{l}.{hook_name}", p), norm))
                 for p in range(n)] for l in range(L)]

    def head_z(l, h, pos):
        key = f"blocks.{l}.attn.hook_z"

        def replace(x):
            x[:, pos, h] = clean_cache[key][:, pos, h]
        return patched(cfg, w, corrupted, key, replace, norm)

    def head_pattern(l, h):
        key = f"blocks.{l}.attn.hook_pattern"

        def replace(x):
            x[:, h] = clean_cache[key][:, h]
        return patched(cfg, w, corrupted, key, replace, norm)

    expected = {
        "answer": ANSWER, "wrong": WRONG, "clean": m_clean, "corrupted": m_corr,
        "resid_pre": sweep_positions("hook_resid_pre"),
        "attn_out": sweep_positions("hook_attn_out"),
        "mlp_out": None if cfg["attn_only"] else sweep_positions("hook_mlp_out"),
        "head_out": [[rounded(head_z(l, h, slice(None))) for h in range(H)] for l in range(L)],
        "head_out_by_pos": [[[rounded(head_z(l, h, p)) for h in range(H)] for p in range(n)] for l in range(L)],
        "head_pattern": [[rounded(head_pattern(l, h)) for h in range(H)] for l in range(L)],
        "paths": [],
    }
    for senders, receivers, via in PATHS:
        if max(int(r.split(".")[0]) for r in receivers) >= L:
            continue
        value = path_patch(cfg, w, clean_cache, corrupted_cache, corrupted, senders, receivers, via, norm)
        expected["paths"].append({"senders": senders, "receivers": receivers, "via": via, "value": rounded(value)})
    # A whole-model check of the definitions: every resid_pre position at layer 0 restores the clean run.
    assert abs(patched(cfg, w, corrupted, "blocks.0.hook_resid_pre", at_pos("blocks.0.hook_resid_pre", slice(None)), norm) - 1) < 1e-12

    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), w)
    for file, tokens in (("clean.json", clean), ("corrupted.json", corrupted)):
        with open(os.path.join(d, file), "w") as f:
            json.dump(tokens.tolist(), f)
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
    print(name, "written; clean", m_clean, "corrupted", m_corr)


def main():
    for i, (name, cfg) in enumerate(sorted(MODELS.items())):
        make(name, cfg, 4000 + i)


if __name__ == "__main__":
    main()
