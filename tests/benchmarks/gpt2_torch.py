"""PyTorch doing what `circuitdsl` commands do on a Hugging Face GPT-2 folder, one command's work per process, so that
tests/benchmarks/gpt2.sh can time each and read its peak memory the same way for both sides.

Every workload starts as the command does: the safetensors file memory-mapped (copy-on-write), converted to
TransformerLens's layout as `circuitdsl` converts it (c_attn split into per-head W_Q, W_K, W_V; W_U = wte transposed),
and checked finite. Then:

    loss    the forward pass with GPT-2's MLPs and the mean next-token cross-entropy
    lens    the residual stream before each block and after the last, each through the final LayerNorm (with the
            final position's frozen scale, and with its own) and the unembedding: mean log-probability of the next token
    attribute  direct logit attribution of " Mary" over " John" at the last position: every head's result and every
            other component through the final LayerNorm's frozen scale (checked to sum to the model's logit difference)
    paths1  the order-1 path expansion as `paths --order 1` prints it: every source (embed, pos_embed, each layer's
            attention bias and MLP output) alone and through each later head, with frozen LayerNorm scales and patterns;
            each term's norm, share and mean next-token logit without its logits, the rest, and term importance
    inspect weight processing in place, detector scores on 8 sequences h + h of 256 tokens (HeadDetector.DefaultBatch's
            cap; the blocks up to the last layer's patterns, one sequence at a time), copying scores and every composition score (bench_torch.py's functions)
    patch   `circuitdsl patch --what resid_pre`: each layer x position of resid_pre patched from the clean run into the
            corrupted one, the normalised logit difference (patch(); prints the same JSON numbers as `patch --json`)

Usage: /usr/bin/python3 tests/benchmarks/gpt2_torch.py <workload> <folder> <token ids, comma-separated>
       /usr/bin/python3 tests/benchmarks/gpt2_torch.py patch <folder> <clean ids> <corrupted ids> <answer id> <wrong id>
Prints one line: the workload, the seconds it took after loading began, and a checksum.
"""
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch import composition, copying, detection_batch, detector_scores, load_safetensors, logit_difference, paths_table, process_in_place, resid_pre_sweep  # noqa: E402

torch.set_num_threads(2)
torch.set_grad_enabled(False)


def load(folder):
    """The HF GPT-2 folder as a TransformerLens state dict and config (as circuitdsl's Gpt2Checkpoint converts it)."""
    with open(f"{folder}/config.json") as f:
        hf = json.load(f)
    d, h, L = hf["n_embd"], hf["n_head"], hf["n_layer"]
    cfg = {"n_layers": L, "n_heads": h, "d_model": d, "d_head": d // h, "d_vocab": hf["vocab_size"],
           "n_ctx": hf["n_positions"], "d_mlp": 4 * d, "normalization_type": "LN", "positional_embedding_type": "standard"}
    sd = load_safetensors(f"{folder}/model.safetensors", copy_on_write=True)
    w = {"embed.W_E": sd["wte.weight"], "pos_embed.W_pos": sd["wpe.weight"],
         "ln_final.w": sd["ln_f.weight"], "ln_final.b": sd["ln_f.bias"],
         "unembed.W_U": sd["wte.weight"].T.contiguous(), "unembed.b_U": torch.zeros(hf["vocab_size"])}
    for l in range(L):
        p, q = f"h.{l}.", f"blocks.{l}."
        qkv = sd[p + "attn.c_attn.weight"].reshape(d, 3, h, d // h).permute(1, 2, 0, 3)
        bias = sd[p + "attn.c_attn.bias"].reshape(3, h, d // h)
        for i, x in enumerate("QKV"):
            w[q + "attn.W_" + x] = qkv[i].contiguous()
            w[q + "attn.b_" + x] = bias[i]
        w[q + "attn.W_O"] = sd[p + "attn.c_proj.weight"].reshape(h, d // h, d)
        w[q + "attn.b_O"] = sd[p + "attn.c_proj.bias"]
        w[q + "ln1.w"], w[q + "ln1.b"] = sd[p + "ln_1.weight"], sd[p + "ln_1.bias"]
        w[q + "ln2.w"], w[q + "ln2.b"] = sd[p + "ln_2.weight"], sd[p + "ln_2.bias"]
        w[q + "mlp.W_in"], w[q + "mlp.b_in"] = sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"]
        w[q + "mlp.W_out"], w[q + "mlp.b_out"] = sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"]
    assert all(bool(torch.isfinite(t).all()) for t in w.values())
    return cfg, w


def scale(x):
    x = x - x.mean(-1, keepdim=True)
    return (x.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt()


def ln(x, w, b):
    return (x - x.mean(-1, keepdim=True)) / scale(x) * w + b


def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x.pow(3))))


def forward(cfg, w, tokens, cache=None, blocks_only=False, pattern_hook=None):
    """GPT-2's forward pass under TransformerLens names; cache gets resid_pre, patterns, LN scales, attn/mlp outputs.
    With blocks_only, the residual stream after the last block; with a pattern_hook as well, the last block stops at
    its patterns (detection reads nothing after them) and nothing is returned."""
    n = tokens.shape[1]
    resid = w["embed.W_E"][tokens] + w["pos_embed.W_pos"][:n]
    resid = run_blocks(cfg, w, resid, range(cfg["n_layers"]), cache, pattern_hook)
    if blocks_only:
        return resid
    if cache is not None:
        cache["resid_final"], cache["scale_final"] = resid, scale(resid)
    return ln(resid, w["ln_final.w"], w["ln_final.b"]) @ w["unembed.W_U"] + w["unembed.b_U"]


def run_blocks(cfg, w, resid, layers, cache=None, pattern_hook=None, last_position=False):
    """The blocks `layers` on the residual stream `resid` [b, n, d_model]; with last_position, the model's last block's
    queries and everything after them at the last position only, [b, 1, d_model] after it
    (ForwardPass.FinalResidualAtLastPosition)."""
    n = resid.shape[1]
    mask = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
    for l in layers:
        p = f"blocks.{l}."
        last = last_position and l == cfg["n_layers"] - 1
        x = ln(resid, w[p + "ln1.w"], w[p + "ln1.b"])
        q = torch.einsum("bpd,hde->bhpe", x[:, -1:] if last else x, w[p + "attn.W_Q"]) + w[p + "attn.b_Q"][:, None]
        k = torch.einsum("bpd,hde->bhpe", x, w[p + "attn.W_K"]) + w[p + "attn.b_K"][:, None]
        scores = q @ k.transpose(-1, -2) / math.sqrt(cfg["d_head"])
        pattern = (scores if last else scores.masked_fill(mask, float("-inf"))).softmax(-1)  # the last query sees every key
        if pattern_hook is not None:
            pattern_hook(pattern)
            if l == cfg["n_layers"] - 1:
                return None
        v = torch.einsum("bpd,hde->bhpe", x, w[p + "attn.W_V"]) + w[p + "attn.b_V"][:, None]
        attn_out = torch.einsum("bhpe,hed->bpd", pattern @ v, w[p + "attn.W_O"]) + w[p + "attn.b_O"]
        if cache is not None:
            cache[p + "resid_pre"], cache[p + "scale1"], cache[p + "pattern"] = resid, scale(resid), pattern
        resid = (resid[:, -1:] if last else resid) + attn_out
        mlp_out = gelu_new(ln(resid, w[p + "ln2.w"], w[p + "ln2.b"]) @ w[p + "mlp.W_in"] + w[p + "mlp.b_in"]) @ w[p + "mlp.W_out"] + w[p + "mlp.b_out"]
        if cache is not None:
            cache[p + "mlp_out"] = mlp_out
        resid = resid + mlp_out
    return resid


def next_token_log_prob(logits, tokens):
    return logits[:, :-1].log_softmax(-1).gather(-1, tokens[:, 1:, None]).mean().item()


def loss(cfg, w, tokens):
    return -next_token_log_prob(forward(cfg, w, tokens), tokens)


def lens(cfg, w, tokens):
    cache = {}
    forward(cfg, w, tokens, cache)
    stack = [cache[f"blocks.{l}.resid_pre"] for l in range(cfg["n_layers"])] + [cache["resid_final"]]
    total = 0.0
    for own in (False, True):
        for r in stack:
            s = scale(r) if own else cache["scale_final"]
            x = (r - r.mean(-1, keepdim=True)) / s * w["ln_final.w"] + w["ln_final.b"]
            total += next_token_log_prob(x @ w["unembed.W_U"] + w["unembed.b_U"], tokens)
    return total


def attribute(cfg, w, tokens):
    """Direct logit attribution of " Mary" (5335) over " John" (1757) at the last position: every head's result and
    every other component of the final residual stream through the final LayerNorm's frozen scale; returns their sum
    with the constant, which is the model's own logit difference."""
    cache = {}
    logits = forward(cfg, w, tokens, cache)
    direction = w["unembed.W_U"][:, 5335] - w["unembed.W_U"][:, 1757]
    last = cache["scale_final"][:, -1]  # [b, 1]

    def read(x):  # x [..., b, d] at the last position
        return (((x - x.mean(-1, keepdim=True)) / last * w["ln_final.w"]) @ direction).mean(-1)

    n = tokens.shape[1]
    heads, others = [], [read(w["embed.W_E"][tokens[:, -1]]), read(w["pos_embed.W_pos"][n - 1].expand(tokens.shape[0], -1))]
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}."
        x = ln(cache[p + "resid_pre"], w[p + "ln1.w"], w[p + "ln1.b"])
        v = torch.einsum("bpd,hde->bhpe", x, w[p + "attn.W_V"]) + w[p + "attn.b_V"][:, None]
        z = (cache[p + "pattern"] @ v)[:, :, -1]  # [b, h, e]
        heads.append(read(torch.einsum("bhe,hed->hbd", z, w[p + "attn.W_O"])))
        others += [read(w[p + "attn.b_O"].expand(tokens.shape[0], -1)), read(cache[p + "mlp_out"][:, -1])]
    constant = (w["ln_final.b"] @ w["unembed.W_U"] + w["unembed.b_U"])[[5335, 1757]]
    total = torch.stack(heads).sum() + torch.stack(others).sum() + constant[0] - constant[1]
    actual = (logits[:, -1, 5335] - logits[:, -1, 1757]).mean()
    assert abs(total.item() - actual.item()) < 1e-3 * max(1.0, abs(actual.item())), (total.item(), actual.item())
    return round(actual.item(), 4)


def paths1(cfg, w, tokens):
    """`circuitdsl paths DIR --order 1` (tables): the frozen pass, then bench_torch's `paths_table` (the same algorithm
    as PathExpansion: Gram-matrix norms, per-head quadratic forms, next-token columns, losses by row blocks); prints the
    table's lines and returns the number of terms (the rest included)."""
    cache = {}
    resid = forward(cfg, w, tokens, cache, blocks_only=True)
    L = cfg["n_layers"]
    lines = paths_table(cfg, w, tokens, 1, [cache[f"blocks.{l}.pattern"] for l in range(L)],
                        [cache[f"blocks.{l}.scale1"] for l in range(L)], scale(resid), [cache[f"blocks.{l}.mlp_out"] for l in range(L)])
    print("\n".join(lines))
    return len(lines) - (L + 1)


def inspect(cfg, w, tokens):
    cfg = process_in_place(w, cfg)
    det = detection_batch(cfg)
    scores = []
    for i in range(det.shape[0]):
        seq = det[i:i + 1]
        forward(cfg, w, seq, blocks_only=True, pattern_hook=lambda p: scores.append(detector_scores([p], seq)))
    copying(w, cfg)
    composition(w, cfg)
    return len(scores)


def patch(cfg, w, clean, corrupted, answer, wrong):
    """`circuitdsl patch --what resid_pre`'s sweep, by its algorithm (bench_torch.resid_pre_sweep: each layer's
    differing positions as batches of copies of the corrupted stream entering it, through the remaining blocks, the
    metric from two columns of W_U in double); the clean and corrupted metrics the same way from their runs."""
    resid_pre, metrics = {}, {}
    for name, tokens in (("clean", clean), ("corrupted", corrupted)):
        cache = {}
        resid = forward(cfg, w, tokens, cache, blocks_only=True)
        metrics[name] = logit_difference(ln(resid[:, -1], w["ln_final.w"], w["ln_final.b"]), w, answer, wrong).mean().item()
        resid_pre[name] = [cache[f"blocks.{l}.resid_pre"] for l in range(cfg["n_layers"])]
    run_from = lambda layer, resid: run_blocks(cfg, w, resid, range(layer, cfg["n_layers"]), last_position=True)
    return resid_pre_sweep(resid_pre, run_from, lambda x: ln(x, w["ln_final.w"], w["ln_final.b"]), w, answer, wrong, metrics)


if __name__ == "__main__":
    workload, folder, ids = sys.argv[1], sys.argv[2], sys.argv[3]
    start = time.perf_counter()
    config, weights = load(folder)
    batch = torch.tensor([[int(t) for t in ids.split(",")]])
    if workload == "patch":
        corrupted = torch.tensor([[int(t) for t in sys.argv[4].split(",")]])
        result = patch(config, weights, batch, corrupted, int(sys.argv[5]), int(sys.argv[6]))
    else:
        result = {"loss": loss, "lens": lens, "attribute": attribute, "paths1": paths1, "inspect": inspect}[workload](config, weights, batch)
    print(f"{workload}\t{time.perf_counter() - start:.3f}\t{result}")
