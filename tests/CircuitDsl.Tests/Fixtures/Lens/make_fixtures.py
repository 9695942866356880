#!/usr/bin/python3
"""Expected residual-stream analyses of TransformerLens, computed by PyTorch on a seeded random LayerNorm + MLP model.

transformer_lens is not needed: its ActivationCache methods are re-implemented here in plain torch (double
precision) from their documented semantics, on a cache of TL hook names made by this script's own forward pass:

- decompose_resid(layer, mode="all", incl_embeds=True): embed, pos_embed, then {l}_attn_out, {l}_mlp_out for l < layer;
- accumulated_resid(layer=None, incl_mid=...): {l}_pre (and {l}_mid), then final_post (the last resid_post);
- apply_ln_to_stack(stack, layer=-1): centre each component over d_model and divide by ln_final.hook_scale, the final
  residual stream's scale (no ln_final.w or .b: TL expects them folded into the unembedding);
- stack_head_results(layer=-1): every head's hook_result, z_h W_O[h], as [layer * head, batch, pos, d_model];
- logit_attrs(stack, tokens, incorrect_tokens): apply_ln_to_stack, then the dot product with W_U[:, tokens]
  (minus W_U[:, incorrect_tokens]).

TL applies these to a model loaded with fold_ln, so the unembedding here is the folded one: W_U' = diag(w_final) W_U
centred over d_model and b_U' = b_U + b_final W_U. The logit lens is apply_ln_to_stack(accumulated_resid) W_U' + b_U'
(or, recomputed, ln_final applied to each accumulated residual stream with its own scale). The model is written as a
model folder (config.json + model.safetensors, float32, weights not folded) next to tokens.json and expected.json.
Regenerate with:

    /usr/bin/python3 tests/CircuitDsl.Tests/Fixtures/Lens/make_fixtures.py
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
from make_fixtures import MODELS, gelu_new, random_weights, rounded, scale_of, write_safetensors  # noqa: E402

torch.set_num_threads(2)
NAME = "ln_mlp_3l"
DIFF_TOKENS = (2, 4)


def run_with_cache(cfg, w, tokens):
    """The forward pass of a standard-position LN model with MLPs, recording TL's hook names."""
    cache = {}

    def ln(x, name):
        cache[name + ".hook_scale"] = scale_of(x)
        return (x - x.mean(-1, keepdim=True)) / cache[name + ".hook_scale"] * w[name + ".w"] + w[name + ".b"]

    n = tokens.shape[1]
    cache["hook_embed"] = w["embed.W_E"][tokens]
    cache["hook_pos_embed"] = w["pos_embed.W_pos"][:n].unsqueeze(0).expand(tokens.shape[0], n, -1)
    resid = cache["hook_embed"] + cache["hook_pos_embed"]
    mask = torch.tril(torch.ones(n, n, dtype=torch.bool))
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}."
        cache[p + "hook_resid_pre"] = resid
        x = ln(resid, p + "ln1")
        q = torch.einsum("bpm,hmd->bphd", x, w[p + "attn.W_Q"]) + w[p + "attn.b_Q"]
        k = torch.einsum("bpm,hmd->bphd", x, w[p + "attn.W_K"]) + w[p + "attn.b_K"]
        v = torch.einsum("bpm,hmd->bphd", x, w[p + "attn.W_V"]) + w[p + "attn.b_V"]
        pattern = (torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(cfg["d_head"])).masked_fill(~mask, float("-inf")).softmax(-1)
        z = torch.einsum("bhqk,bkhd->bqhd", pattern, v)
        cache[p + "attn.hook_result"] = torch.einsum("bqhd,hdm->bqhm", z, w[p + "attn.W_O"])
        cache[p + "hook_attn_out"] = cache[p + "attn.hook_result"].sum(-2) + w[p + "attn.b_O"]
        resid = cache[p + "hook_resid_mid"] = resid + cache[p + "hook_attn_out"]
        x = ln(resid, p + "ln2")
        cache[p + "hook_mlp_out"] = gelu_new(x @ w[p + "mlp.W_in"] + w[p + "mlp.b_in"]) @ w[p + "mlp.W_out"] + w[p + "mlp.b_out"]
        resid = cache[p + "hook_resid_post"] = resid + cache[p + "hook_mlp_out"]
    logits = ln(resid, "ln_final") @ w["unembed.W_U"] + w["unembed.b_U"]
    return logits, cache


def decompose_resid(cfg, cache, layer):
    labels, parts = ["embed", "pos_embed"], [cache["hook_embed"], cache["hook_pos_embed"]]
    for l in range(layer):
        labels += [f"{l}_attn_out", f"{l}_mlp_out"]
        parts += [cache[f"blocks.{l}.hook_attn_out"], cache[f"blocks.{l}.hook_mlp_out"]]
    return labels, torch.stack(parts)


def accumulated_resid(cfg, cache, incl_mid):
    labels, parts, layers = [], [], cfg["n_layers"]
    for l in range(layers + 1):
        if l == layers:
            labels.append("final_post")
            parts.append(cache[f"blocks.{layers - 1}.hook_resid_post"])
            continue
        labels.append(f"{l}_pre")
        parts.append(cache[f"blocks.{l}.hook_resid_pre"])
        if incl_mid:
            labels.append(f"{l}_mid")
            parts.append(cache[f"blocks.{l}.hook_resid_mid"])
    return labels, torch.stack(parts)


def apply_ln_to_stack(cache, stack, pos_slice=slice(None)):
    """TL's pos_slice: the stack holds only those positions, and the scale is sliced to match."""
    return (stack - stack.mean(-1, keepdim=True)) / cache["ln_final.hook_scale"][:, pos_slice]


def stack_head_results(cfg, cache):
    results = [cache[f"blocks.{l}.attn.hook_result"] for l in range(cfg["n_layers"])]
    return torch.cat(results, dim=-2).permute(2, 0, 1, 3)


def logit_attrs(cache, stack, directions, pos_slice=slice(None)):
    return (apply_ln_to_stack(cache, stack, pos_slice) * directions).sum(-1)


def nested(t):
    if t.dim() == 0:
        return rounded(t.item())
    return [nested(x) for x in t]


def main():
    cfg = MODELS[NAME]
    gen = torch.Generator().manual_seed(3000)
    w = {k: v.float().double() for k, v in random_weights(cfg, gen).items()}
    tokens = torch.randint(0, cfg["d_vocab"], (2, 5), generator=gen)
    logits, cache = run_with_cache(cfg, w, tokens)

    # TL's fold_ln of ln_final: the unembedding a processed model has.
    w_u = w["ln_final.w"][:, None] * w["unembed.W_U"]
    w_u = w_u - w_u.mean(0, keepdim=True)
    b_u = w["unembed.b_U"] + w["ln_final.b"] @ w["unembed.W_U"]

    decompose_labels, parts = decompose_resid(cfg, cache, cfg["n_layers"])
    accumulated_labels, accumulated = accumulated_resid(cfg, cache, incl_mid=True)
    assert torch.allclose(parts.sum(0), accumulated[-1], atol=1e-10)

    lens = apply_ln_to_stack(cache, accumulated) @ w_u + b_u
    assert torch.allclose(lens[-1], logits, atol=1e-10)
    recomputed = (accumulated - accumulated.mean(-1, keepdim=True)) / scale_of(accumulated) @ w_u + b_u

    def losses(stack_logits):
        log_probs = stack_logits[:, :, :-1].log_softmax(-1)
        correct = log_probs.gather(-1, tokens[:, 1:].expand(len(stack_logits), -1, -1).unsqueeze(-1)).squeeze(-1)
        return (-correct).mean((1, 2))

    heads = stack_head_results(cfg, cache)
    others = [cache["hook_embed"], cache["hook_pos_embed"]]
    other_labels = ["embed", "pos_embed"]
    for l in range(cfg["n_layers"]):
        others += [w[f"blocks.{l}.attn.b_O"].expand_as(cache["hook_embed"]), cache[f"blocks.{l}.hook_mlp_out"]]
        other_labels += [f"{l}_attn_bias", f"{l}_mlp_out"]
    others = torch.stack(others)

    next_directions = w_u[:, tokens[:, 1:]].permute(1, 2, 0)
    diff_direction = w_u[:, DIFF_TOKENS[0]] - w_u[:, DIFF_TOKENS[1]]
    predicting = slice(None, -1)
    heads_next = logit_attrs(cache, heads[:, :, predicting], next_directions, predicting)
    heads_diff = logit_attrs(cache, heads, diff_direction)
    others_next = logit_attrs(cache, others[:, :, predicting], next_directions, predicting)
    others_diff = logit_attrs(cache, others, diff_direction)
    actual_diff = logits[..., DIFF_TOKENS[0]] - logits[..., DIFF_TOKENS[1]]
    assert torch.allclose(heads_diff.sum(0) + others_diff.sum(0) + b_u[DIFF_TOKENS[0]] - b_u[DIFF_TOKENS[1]], actual_diff, atol=1e-10)
    actual_next = logits[:, :-1].gather(-1, tokens[:, 1:].unsqueeze(-1)).squeeze(-1)
    assert torch.allclose(heads_next.sum(0) + others_next.sum(0) + b_u[tokens[:, 1:]], actual_next, atol=1e-10)

    layers, n_heads = cfg["n_layers"], cfg["n_heads"]
    expected = {
        "decompose_labels": decompose_labels,
        "decompose": nested(parts),
        "accumulated_labels": accumulated_labels,
        "accumulated": nested(accumulated),
        "lens_logits": nested(lens),
        "lens_losses": [x.item() for x in losses(lens)],
        "recomputed_lens_losses": [x.item() for x in losses(recomputed)],
        "diff_tokens": list(DIFF_TOKENS),
        "heads_next": nested(heads_next.reshape(layers, n_heads, *heads_next.shape[1:])),
        "heads_diff": nested(heads_diff.reshape(layers, n_heads, *heads_diff.shape[1:])),
        "other_labels": other_labels,
        "others_next": nested(others_next),
        "others_diff": nested(others_diff),
    }
    d = os.path.join(HERE, NAME)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), w)
    with open(os.path.join(d, "tokens.json"), "w") as f:
        json.dump(tokens.tolist(), f)
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
    print(NAME, "written; lens losses", expected["lens_losses"])


if __name__ == "__main__":
    main()
