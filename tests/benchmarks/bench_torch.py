"""PyTorch reference for tests/CircuitDsl.Benchmarks: the same workloads on the same weights and inputs.

Every workload loads what `CircuitDsl.Benchmarks prepare <dir>` wrote (safetensors read by hand, memory-mapped,
so no extra package is needed) and builds the same token batches from the same 64-bit LCG. Output: one
tab-separated RESULT line per workload (median, quartiles, min, max in seconds, repetitions, GFLOP of matrix work
done — dense, as PyTorch does it — and every sample), as the C# side prints. tests/benchmarks/run.sh runs both and prints the ratios. Usage:
    /usr/bin/python3 tests/benchmarks/bench_torch.py <dir> <reps> <workload,...|all>
    /usr/bin/python3 tests/benchmarks/bench_torch.py sgemm <reps>
    /usr/bin/python3 tests/benchmarks/bench_torch.py load-safetensors <file>   (for peak-memory measurement)
    /usr/bin/python3 tests/benchmarks/bench_torch.py make-pth <safetensors> <pth>
    /usr/bin/python3 tests/benchmarks/bench_torch.py load-pth <pth>
    /usr/bin/python3 tests/benchmarks/bench_torch.py inspect <model folder>   (`circuitdsl inspect`'s work, for peak memory)
    /usr/bin/python3 tests/benchmarks/bench_torch.py make-tokens <file> <rows> <length> <vocab> <seed>
    /usr/bin/python3 tests/benchmarks/bench_torch.py command <loss|logits|paths|train|patch> ...   (a whole command's work, cold;
        tests/benchmarks/commands.sh runs each beside `circuitdsl` doing the same)
"""
import gc
import json
import math
import mmap
import struct
import sys
import time

import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore", message="The given NumPy array is not writable")

torch.set_num_threads(2)
torch.set_grad_enabled(False)


def load_safetensors(path, copy_on_write=False):
    """Tensors of a safetensors file as views of one memory map (no copy): read-only, or copy-on-write (writable; a
    written page becomes private and the file is not changed), as `ModelFolder` maps it."""
    f = open(path, "rb")
    size = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(size))
    data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY if copy_on_write else mmap.ACCESS_READ)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        start, end = info["data_offsets"]
        array = np.frombuffer(data, dtype=np.float32, count=(end - start) // 4, offset=8 + size + start)
        out[name] = torch.from_numpy(array).reshape(info["shape"]) if array.size else torch.zeros(info["shape"])
    return out


def load_config(folder):
    with open(f"{folder}/config.json") as f:
        return json.load(f)


def lcg_tokens(rows, length, vocab, seed):
    """CircuitDsl.Benchmarks.Shapes.Tokens: state = state * 6364136223846793005 + 1442695040888963407 mod 2^64."""
    state, mask, out = seed, (1 << 64) - 1, []
    for _ in range(rows):
        row = []
        for _ in range(length):
            state = (state * 6364136223846793005 + 1442695040888963407) & mask
            row.append((state >> 33) % vocab)
        out.append(row)
    return torch.tensor(out, dtype=torch.long)


def quantile(xs, q):
    pos = q * (len(xs) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (pos - lo) * (xs[hi] - xs[lo])


def report(name, times, gflop):
    t = sorted(times)
    print("\t".join(["RESULT", name] + [f"{x:.6g}" for x in (quantile(t, .5), quantile(t, .25), quantile(t, .75), t[0], t[-1])]
                    + [str(len(t)), f"{gflop:.6g}", ",".join(f"{x:.6g}" for x in times)]), flush=True)


def measure(name, reps, gflop, body, warmup=1):
    for _ in range(warmup):
        body()
    times = []
    for _ in range(reps):
        gc.collect()
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    report(name, times, gflop)


def forward_gflop(cfg, batch, pos, vocab=True):
    rows, width = batch * pos, cfg["n_heads"] * cfg["d_head"]
    per_layer = 2 * rows * cfg["d_model"] * width * 3 + 2 * 2 * batch * cfg["n_heads"] * pos * pos * cfg["d_head"] + 2 * rows * width * cfg["d_model"]
    return (cfg["n_layers"] * per_layer + (2 * rows * cfg["d_model"] * cfg["d_vocab"] if vocab else 0)) / 1e9


class Model:
    """TransformerLens's attention-only forward pass (LN or none, standard or shortformer positions), as docs/math.md has it."""

    def __init__(self, cfg, w):
        self.cfg, self.w = cfg, w
        self.masks = {}

    def ln(self, x, name, cache):
        if self.cfg["normalization_type"] is None:
            return x
        x = x - x.mean(-1, keepdim=True)
        x = x / (x.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt()
        if self.cfg["normalization_type"] == "LN":
            x = x * self.w[name + ".w"] + self.w[name + ".b"]
        if cache is not None:
            cache[name + ".hook_normalized"] = x
        return x

    def run(self, tokens, cache=None, stop_at_layer=None, pattern_hook=None, until_patterns=False, start=None, last_position=False):
        """The logits; with stop_at_layer, the residual stream entering that block; with until_patterns, nothing after
        the last block's patterns (as ModelAnalysis's detection: ForwardPass.PatternsOnly); with start = (layer,
        resid), from that block on with that residual stream entering it (HookedTransformer.BeginAt); with last_position,
        the last block's queries and everything after them at the last position only, [b, 1, d] after the blocks
        (ForwardPass.FinalResidualAtLastPosition)."""
        cfg, w = self.cfg, self.w
        b, n = tokens.shape
        shortformer = cfg["positional_embedding_type"] == "shortformer"
        embed = w["embed.W_E"][tokens]
        pos = w["pos_embed.W_pos"][:n].expand(b, n, -1)
        resid = embed if shortformer else embed + pos
        first = 0
        if start is not None:
            first, resid = start
        if cache is not None:
            cache["hook_embed"], cache["hook_pos_embed"] = embed, pos
        if n not in self.masks:
            self.masks[n] = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
        mask = self.masks[n]
        layers = cfg["n_layers"] if stop_at_layer is None else stop_at_layer
        for l in range(first, layers):
            p = f"blocks.{l}."
            if cache is not None:
                cache[p + "hook_resid_pre"] = resid
            x = self.ln(resid, p + "ln1", cache)
            qk_in = x + pos if shortformer else x
            last = last_position and l == cfg["n_layers"] - 1
            q = torch.einsum("bpd,hde->bphe", qk_in[:, -1:] if last else qk_in, w[p + "attn.W_Q"]) + w[p + "attn.b_Q"]
            k = torch.einsum("bpd,hde->bphe", qk_in, w[p + "attn.W_K"]) + w[p + "attn.b_K"]
            scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(cfg["d_head"])
            if not last:  # the last query sees every key
                scores = scores.masked_fill(mask, float("-inf"))
            pattern = scores.softmax(-1)
            if pattern_hook is not None:
                pattern_hook(l, pattern)
            if until_patterns and l == layers - 1:
                return None
            v = torch.einsum("bpd,hde->bphe", x, w[p + "attn.W_V"]) + w[p + "attn.b_V"]
            z = torch.einsum("bhqk,bkhe->bqhe", pattern, v)
            if cache is not None:
                result = torch.einsum("bqhe,hed->bqhd", z, w[p + "attn.W_O"])
                attn_out = result.sum(2) + w[p + "attn.b_O"]
                cache.update({p + "attn.hook_q": q, p + "attn.hook_k": k, p + "attn.hook_v": v, p + "attn.hook_attn_scores": scores,
                              p + "attn.hook_pattern": pattern, p + "attn.hook_z": z, p + "attn.hook_result": result,
                              p + "hook_attn_out": attn_out})
            else:
                attn_out = torch.einsum("bqhe,hed->bqd", z, w[p + "attn.W_O"]) + w[p + "attn.b_O"]
            resid = (resid[:, -1:] if last else resid) + attn_out
            if cache is not None:
                cache[p + "hook_resid_post"] = resid
        if stop_at_layer is not None:
            return resid
        x = self.ln(resid, "ln_final", cache)
        return torch.addmm(w["unembed.b_U"], x.reshape(b * n, -1), w["unembed.W_U"]).reshape(b, n, -1)


def detector_scores(patterns, tokens):
    """Our score (docs/math.md) and TransformerLens's "mul" score of every head for the three detectors, as HeadDetector."""
    b, n = tokens.shape
    eq = (tokens[:, :, None] == tokens[:, None, :]) & torch.ones(n, n, dtype=torch.bool).tril(-1)
    prev = torch.zeros(b, n, n)
    prev[:, torch.arange(1, n), torch.arange(0, n - 1)] = 1
    induction = torch.zeros(b, n, n)
    induction[:, :, 1:] = eq[:, :, :-1].float()
    targets = [prev, eq.float(), induction]
    out = []
    for pattern in patterns:  # [b, h, n, n]
        layer = []
        for t in targets:
            has = t.sum(-1) > 0  # [b, n]
            mass = (pattern * t[:, None]).sum(-1).double()  # [b, h, n]
            rows = has.sum(-1)  # [b]
            ours = (mass * has[:, None]).sum(-1) / rows[:, None]
            ok = rows > 0
            ours = ours[ok].mean(0)
            mul = ((pattern * t[:, None]).sum((-1, -2)).double() / pattern.sum((-1, -2)).double()).mean(0)
            layer.append((ours, mul))
        out.append(layer)
    return out


def composition(w, cfg):
    """CompositionScores.Compute: ‖L·R‖² = ⟨P, S⟩ with P = W_Oᵀ G(W_V) W_O and S = A G(B) Aᵀ, summed over the upper
    triangle of d_model² in blocks of 32 rows (float products, double sums), every writer × every reader per block;
    pairs whose cosine ⟨P, S⟩ / (‖P‖ ‖S‖) is below 0.02 recomputed in double from W_O · A."""
    L, H, dm, k = cfg["n_layers"], cfg["n_heads"], cfg["d_model"], cfg["d_head"]
    WQ = torch.stack([w[f"blocks.{l}.attn.W_Q"] for l in range(L)])
    WK = torch.stack([w[f"blocks.{l}.attn.W_K"] for l in range(L)])
    WV = torch.stack([w[f"blocks.{l}.attn.W_V"] for l in range(L)])
    WO = torch.stack([w[f"blocks.{l}.attn.W_O"] for l in range(L)])
    cols = lambda m: m.double().transpose(-1, -2) @ m.double()
    gq, gk, gv, go = cols(WQ), cols(WK), cols(WV), WO.double() @ WO.double().transpose(-1, -2)
    inner = lambda a, b: (a * b).sum((-1, -2))
    ov_norm, qk_norm = inner(gv, go).sqrt(), inner(gq, gk).sqrt()
    ov_sq, qk_sq = inner(gv @ go, (gv @ go).transpose(-1, -2)).sqrt(), inner(gq @ gk, (gq @ gk).transpose(-1, -2)).sqrt()
    # Writers: layers 0 … L-2; readers: (layer 1 … L-1, kind Q/K/V, head), with A [dm, k] and G(B).
    o, gvw = WO[:-1].reshape(-1, k, dm), gv[:-1].reshape(-1, k, k).float()
    a = torch.stack([WQ[1:], WK[1:], WV[1:]], 1).reshape(-1, dm, k)
    ga = torch.stack([gk[1:], gq[1:], go[1:]], 1).reshape(-1, k, k).float()
    sums = torch.zeros(o.shape[0], a.shape[0], dtype=torch.float64)
    for r0 in range(0, dm, 32):
        r1 = min(r0 + 32, dm)
        p = (gvw @ o[:, :, r0:r1]).transpose(-1, -2) @ o[:, :, r0:]
        p[:, :, r1 - r0:] *= 2
        s = (a[:, r0:r1] @ ga) @ a[:, r0:].transpose(-1, -2)
        sums += (p.reshape(p.shape[0], -1) @ s.reshape(s.shape[0], -1).T).double()
    scores = torch.zeros(3, L, H, L, H, dtype=torch.float64)
    for l1 in range(L - 1):
        for l2 in range(l1 + 1, L):
            for kind in range(3):
                rn, rs = (ov_norm[l2], ov_sq[l2]) if kind == 2 else (qk_norm[l2], qk_sq[l2])
                block = sums[l1 * H:(l1 + 1) * H, ((l2 - 1) * 3 + kind) * H:((l2 - 1) * 3 + kind + 1) * H].clone()
                for h1, h2 in (block < 0.02 * ov_sq[l1][:, None] * rs[None, :]).nonzero().tolist():
                    m = WO[l1, h1].double() @ a[((l2 - 1) * 3 + kind) * H + h2].double()
                    block[h1, h2] = inner(gv[l1, h1] @ m, m @ ga[((l2 - 1) * 3 + kind) * H + h2].double())
                scores[kind, l1, :, l2, :] = block.clamp(min=0).sqrt() / (ov_norm[l1][:, None] * rn[None, :])
    return scores


def copying(w, cfg):
    """CopyingScores.Compute: P = W_U · W_E once (float), then per group of layers one product P · [W_V side by side],
    W_O · (P · W_V) per head in float, and the eigenvalues of those d_head × d_head matrices in double."""
    L, H, dm, k = cfg["n_layers"], cfg["n_heads"], cfg["d_model"], cfg["d_head"]
    p = w["unembed.W_U"] @ w["embed.W_E"]
    group = max(1, 1536 // (H * k))
    out = []
    for first in range(0, L, group):
        layers = range(first, min(L, first + group))
        values = torch.cat([w[f"blocks.{l}.attn.W_V"].permute(1, 0, 2).reshape(dm, H * k) for l in layers], dim=1)
        pv = (p @ values).reshape(dm, len(layers) * H, k).permute(1, 0, 2)  # [layers·H, dm, k]
        wo = torch.cat([w[f"blocks.{l}.attn.W_O"] for l in layers])  # [layers·H, k, dm]
        out.append(torch.linalg.eigvals(torch.bmm(wo, pv).double()))
    return out


def copying_tl(w, cfg):
    """TransformerLens's own route to the same eigenvalues: W_E @ FactoredMatrix(W_V, W_O) @ W_U keeps the factors
    A = W_E W_V [d_vocab, d_head] and B = W_O W_U [d_head, d_vocab] of every head, and FactoredMatrix.eigenvalues is
    torch.linalg.eig(B @ A) in float. One layer at a time (every head's factors at once would be 3.7 GB)."""
    out = []
    for l in range(cfg["n_layers"]):
        a = w["embed.W_E"] @ w[f"blocks.{l}.attn.W_V"]  # [H, d_vocab, d_head]
        b = w[f"blocks.{l}.attn.W_O"] @ w["unembed.W_U"]  # [H, d_head, d_vocab]
        out.append(torch.linalg.eig(b @ a).eigenvalues)
    return out


def process_in_place(w, cfg):
    """WeightProcessing.ApplyInPlace: TransformerLens's fold_ln, center_writing_weights, center_unembed and
    fold_value_biases, written into the tensors; the first two are refused for shortformer models, as TL does."""
    cfg = dict(cfg)
    if cfg["normalization_type"] in ("LN", "LNPre") and cfg["positional_embedding_type"] != "shortformer":
        has_weights = cfg["normalization_type"] == "LN"
        for l in range(cfg["n_layers"]):
            p = f"blocks.{l}."
            for x in "QKV":
                W, b = w[p + "attn.W_" + x], w[p + "attn.b_" + x]  # [h, d_model, d_head], [h, d_head]
                if has_weights:
                    b += torch.einsum("d,hde->he", w[p + "ln1.b"], W)
                    W *= w[p + "ln1.w"][:, None]
                W -= W.mean(1, keepdim=True)
        if has_weights:
            w["unembed.b_U"] += w["ln_final.b"] @ w["unembed.W_U"]
            w["unembed.W_U"] *= w["ln_final.w"][:, None]
        w["unembed.W_U"] -= w["unembed.W_U"].mean(0, keepdim=True)
        cfg["normalization_type"] = "LNPre"
        for name in ("embed.W_E", "pos_embed.W_pos"):
            w[name] -= w[name].mean(-1, keepdim=True)
        for l in range(cfg["n_layers"]):
            w[f"blocks.{l}.attn.W_O"] -= w[f"blocks.{l}.attn.W_O"].mean(-1, keepdim=True)
            w[f"blocks.{l}.attn.b_O"] -= w[f"blocks.{l}.attn.b_O"].mean()
    w["unembed.W_U"] -= w["unembed.W_U"].mean(-1, keepdim=True)
    w["unembed.b_U"] -= w["unembed.b_U"].mean()
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}.attn."
        w[p + "b_O"] += torch.einsum("he,hed->d", w[p + "b_V"], w[p + "W_O"])
        w[p + "b_V"].zero_()
    return cfg


def detection_batch(cfg):
    """The shape of HeadDetector.DefaultBatch: 8 sequences h + h, h = min((n_ctx - 1) // 2, d_vocab, 128) LCG tokens."""
    half = min((cfg["n_ctx"] - 1) // 2, cfg["d_vocab"], 128)
    return lcg_tokens(8, half, cfg["d_vocab"], 3).repeat(1, 2)


def inspect(folder):
    """`circuitdsl inspect`'s work on a model folder: the finiteness scan, weight processing in place on a copy-on-write
    map, detector scores on the default detection batch's shape (detection_batch; the blocks up to the last layer's
    patterns, one sequence at a time, each pattern scored as it is made), copying scores, and every composition score."""
    cfg = load_config(folder)
    w = load_safetensors(f"{folder}/model.safetensors", copy_on_write=True)
    assert all(bool(torch.isfinite(t).all()) for t in w.values())
    cfg = process_in_place(w, cfg)
    model = Model(cfg, w)
    det = detection_batch(cfg)
    scores = []
    for i in range(det.shape[0]):
        tokens = det[i:i + 1]
        model.run(tokens, pattern_hook=lambda l, p: scores.append(detector_scores([p], tokens)), until_patterns=True)
    copying(w, cfg)
    if cfg["n_layers"] > 1:
        composition(w, cfg)
    return len(scores)


def run(folder, reps, only):
    wanted = lambda name: only == ["all"] or name in only
    if any(wanted(x) for x in ("forward", "forward-cache", "detection", "detection-full")):
        cfg = load_config(f"{folder}/attn2l")
        w = load_safetensors(f"{folder}/attn2l/model.safetensors")
        model = Model(cfg, w)
        tokens = lcg_tokens(4, 1024, cfg["d_vocab"], 1)
        if wanted("forward"):
            measure("forward", reps, forward_gflop(cfg, 4, 1024), lambda: model.run(tokens))
        if wanted("forward-cache"):
            measure("forward-cache", reps, forward_gflop(cfg, 4, 1024), lambda: model.run(tokens, cache={}))
        det = lcg_tokens(8, 256, cfg["d_vocab"], 2).repeat(1, 2)

        def detect(full):
            bad = [name for name, t in w.items() if not torch.isfinite(t).all()]
            assert not bad
            patterns = []
            model.run(det, pattern_hook=lambda l, p: patterns.append(p), until_patterns=not full)
            return detector_scores(patterns, det)

        if wanted("detection"):
            measure("detection", reps, forward_gflop(cfg, 8, 512, vocab=False), lambda: detect(False))
        if wanted("detection-full"):
            # TransformerLens's detect_head runs the whole model (no stop_at_layer): the unembedding is wasted work.
            measure("detection-full", reps, forward_gflop(cfg, 8, 512, vocab=False), lambda: detect(True))
    if wanted("composition") or wanted("copying") or wanted("copying-tl"):
        cfg = load_config(f"{folder}/stack12")
        w = load_safetensors(f"{folder}/stack12/model.safetensors")
        if wanted("composition"):
            measure("composition", reps, 0, lambda: composition(w, cfg))
        if wanted("copying"):
            gflop = (2.0 * cfg["d_model"] ** 2 * cfg["d_vocab"] + cfg["n_layers"] * cfg["n_heads"] * 2.0 * cfg["d_model"] ** 2 * cfg["d_head"]) / 1e9
            measure("copying", reps, gflop, lambda: copying(w, cfg))
        if wanted("copying-tl"):
            # ~1.5 TFLOP: one repetition is enough to place it.
            measure("copying-tl", 1, 0, lambda: copying_tl(w, cfg), warmup=0)
    if wanted("train-step") or wanted("train-to-0.7"):
        train(folder, reps, wanted)


def train(folder, reps, wanted):
    """Trainer.Train's recipe for repeated-tokens from the same initial weights on the same batches."""
    cfg = load_config(f"{folder}/train-init")
    L, H, T, V = cfg["n_layers"], cfg["n_heads"], cfg["n_ctx"], cfg["d_vocab"]
    batch, lr, warmup, floor, wd, clip = 16, 3e-3, 100, 0.1, 0.01, 1.0
    # `prepare` wrote every batch of the recipe, so the file's length gives its step count (the cosine's length).
    drawn = np.fromfile(f"{folder}/train-batches.bin", dtype=np.int32).astype(np.int64)
    steps = len(drawn) // (batch * T)
    batches = torch.from_numpy(drawn).reshape(steps, batch, T)
    det = torch.from_numpy(np.fromfile(f"{folder}/train-detection.bin", dtype=np.int32).astype(np.int64)).reshape(8, -1)
    init = {k: v.clone() for k, v in load_safetensors(f"{folder}/train-init/model.safetensors").items()}

    def schedule(i):
        s = i + 1
        if s <= warmup:
            return s / warmup
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, steps - warmup)))

    def fresh():
        params = {k: torch.nn.Parameter(v.clone()) for k, v in init.items()}
        decay = [p for n, p in params.items() if n.split(".")[-1] in ("W_Q", "W_K", "W_V", "W_O", "W_U")]
        rest = [p for n, p in params.items() if n.split(".")[-1] not in ("W_Q", "W_K", "W_V", "W_O", "W_U")]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.999), eps=1e-8)
        return params, opt, torch.optim.lr_scheduler.LambdaLR(opt, schedule)

    def step(params, opt, sched, tokens):
        with torch.enable_grad():
            logits = Model(cfg, params).run(tokens)
            loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), tokens[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(params.values()), clip)
            opt.step()
            sched.step()
        return loss.item()

    def best_induction(params):
        patterns = []
        Model(cfg, params).run(det, pattern_hook=lambda l, p: patterns.append(p))
        return detector_scores(patterns, det)[L - 1][2][0].max().item()

    if wanted("train-step"):
        n = 50
        times = []
        for r in range(reps + 1):
            params, opt, sched = fresh()
            start = time.perf_counter()
            for i in range(n):
                step(params, opt, sched, batches[i])
            if r > 0:
                times.append((time.perf_counter() - start) / n)
        report("train-step", times, 0)
    if wanted("train-to-0.7"):
        times = []
        for _ in range(max(1, reps // 3)):
            params, opt, sched = fresh()
            start = time.perf_counter()
            reached = None
            for i in range(steps):
                step(params, opt, sched, batches[i])
                if (i + 1) % 50 == 0 and best_induction(params) > 0.7:
                    reached = i + 1
                    break
            times.append(time.perf_counter() - start)
            print(f"INFO\ttrain-to-0.7\tsteps {reached or 'never'}", flush=True)
        report("train-to-0.7", times, 0)


def sgemm(reps):
    g = torch.Generator().manual_seed(5)
    for name, m, n, k in (("square2048", 2048, 2048, 2048), ("unembed", 4096, 48262, 512)):
        a, b = torch.rand(m, k, generator=g) - 0.5, torch.rand(k, n, generator=g) - 0.5
        c = torch.empty(m, n)
        measure(f"sgemm-{name}-torch", reps, 2.0 * m * n * k / 1e9, lambda: torch.mm(a, b, out=c))


def read_tokens(path):
    with open(path) as f:
        return torch.tensor(json.load(f), dtype=torch.long)


def load_finite(folder):
    """`Commands.LoadFinite`: the config, the weights memory-mapped, every value checked finite."""
    cfg = load_config(folder)
    w = load_safetensors(f"{folder}/model.safetensors")
    assert all(bool(torch.isfinite(t).all()) for t in w.values())
    return cfg, w


def command_loss(folder, tokens_file):
    """`circuitdsl loss DIR --tokens FILE --json`: the mean next-token cross-entropy, as a TransformerLens user gets it."""
    cfg, w = load_finite(folder)
    tokens = read_tokens(tokens_file)
    logits = Model(cfg, w).run(tokens)
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))
    print(json.dumps({"loss": loss.item(), "tokens": tokens[:, 1:].numel()}))


def logit_difference(x, w, answer, wrong):
    """logit[answer] - logit[wrong] for rows x [..., d_model] of the final residual stream (after the final LayerNorm),
    in double from two columns of W_U (Losses.LogitDifferences): no logits are made."""
    direction = w["unembed.W_U"][:, answer].double() - w["unembed.W_U"][:, wrong].double()
    return x.double() @ direction + (w["unembed.b_U"][answer].double() - w["unembed.b_U"][wrong].double())


def resid_pre_sweep(resid_pre, run_from, final_ln, w, answer, wrong, metrics, rows=4096):
    """ActivationPatching.Sweep(ResidPre): resid_pre[name][l] is layer l's [b, n, d] residual stream entering it on the
    clean and the corrupted run. At each layer, positions whose clean and corrupted values are equal score 0; the others
    run in batches of copies of the corrupted stream (at most `rows` rows a batch), each copy with its own position
    patched, through run_from(layer, resid) (the remaining blocks, the last one at least at the last position), and the metric is the last position's logit
    difference from two columns of W_U in double after final_ln, normalised by the clean and corrupted metrics."""
    clean, corrupted = resid_pre["clean"], resid_pre["corrupted"]
    b, n, _ = corrupted[0].shape
    out = torch.zeros(len(corrupted), n, dtype=torch.float64)
    chunk = max(1, rows // (b * n))
    for l, (src, dst) in enumerate(zip(clean, corrupted)):
        differing = [p for p in range(n) if not torch.equal(src[:, p], dst[:, p])]
        for first in range(0, len(differing), chunk):
            positions = differing[first:first + chunk]
            resid = dst.repeat(len(positions), 1, 1)
            for j, p in enumerate(positions):
                resid[j * b:(j + 1) * b, p] = src[:, p]
            x = final_ln(run_from(l, resid)[:, -1])
            metric = logit_difference(x, w, answer, wrong).reshape(len(positions), b).mean(1)
            out[l, positions] = (metric - metrics["corrupted"]) / (metrics["clean"] - metrics["corrupted"])
    return json.dumps({"what": "resid_pre", "metric": metrics, "patched": out.tolist()})


def command_patch(folder, clean_file, corrupted_file, answer, wrong):
    """`circuitdsl patch DIR --clean-tokens … --corrupted-tokens … --answer A --wrong B --json` (resid_pre, the weights
    as stored): the clean and corrupted runs cached, their metrics from the last position's final residual stream
    (logit_difference, no logits), then resid_pre_sweep."""
    cfg, w = load_finite(folder)
    model = Model(cfg, w)
    answer, wrong = int(answer), int(wrong)
    resid_pre, metrics = {}, {}
    for name, tokens in (("clean", read_tokens(clean_file)), ("corrupted", read_tokens(corrupted_file))):
        cache = {}
        resid = model.run(tokens, cache=cache, stop_at_layer=cfg["n_layers"])
        metrics[name] = logit_difference(model.ln(resid[:, -1], "ln_final", None), w, answer, wrong).mean().item()
        resid_pre[name] = [cache[f"blocks.{l}.hook_resid_pre"] for l in range(cfg["n_layers"])]
    corrupted = read_tokens(corrupted_file)

    def run_from(layer, resid):
        copies = corrupted.repeat(resid.shape[0] // corrupted.shape[0], 1)
        return model.run(copies, stop_at_layer=cfg["n_layers"], start=(layer, resid), last_position=True)

    print(resid_pre_sweep(resid_pre, run_from, lambda x: model.ln(x, "ln_final", None), w, answer, wrong, metrics))


def command_logits(folder, tokens_file):
    """`circuitdsl logits DIR --tokens FILE` (no --json): the logits, checked finite, and a table of each position's
    token and three most likely next tokens."""
    cfg, w = load_finite(folder)
    tokens = read_tokens(tokens_file)
    logits = Model(cfg, w).run(tokens)
    assert bool(torch.isfinite(logits).all())
    values, indices = logits.topk(3, dim=-1)
    lines = ["seq\tpos\ttoken\tmost likely next (logit)"]
    for b in range(tokens.shape[0]):
        for p in range(tokens.shape[1]):
            top = ", ".join(f"{i} ({v:.2f})" for i, v in zip(indices[b, p].tolist(), values[b, p].tolist()))
            lines.append(f"{b}\t{p}\t{tokens[b, p].item()}\t{top}")
    print("\n".join(lines))


class KeepOnly(dict):
    """A cache for Model.run that keeps only the named hooks (the frozen pass keeps patterns and LN inputs, nothing else)."""

    def __init__(self, suffixes):
        super().__init__()
        self.suffixes = suffixes

    def __setitem__(self, name, value):
        if name.endswith(self.suffixes):
            super().__setitem__(name, value)

    def update(self, values):
        for name, value in values.items():
            self[name] = value


def command_paths(folder, tokens_file, order):
    """`circuitdsl paths DIR --tokens FILE --order K` (tables) on an attention-only model: the frozen pass, then
    `paths_table`."""
    cfg, w = load_finite(folder)
    tokens = read_tokens(tokens_file)
    assert cfg.get("attn_only", True), "attention-only models only"
    L = cfg["n_layers"]

    # The real pass to the final LayerNorm, keeping each layer's pattern and LN1 input; no logits.
    cache = KeepOnly(("hook_pattern", "hook_resid_pre"))
    resid = Model(cfg, w).run(tokens, cache=cache, stop_at_layer=L)
    patterns = [cache[f"blocks.{l}.attn.hook_pattern"] for l in range(L)]
    scales = [layer_norm_scale(cache[f"blocks.{l}.hook_resid_pre"]) if cfg["normalization_type"] else None for l in range(L)]
    final = layer_norm_scale(resid) if cfg["normalization_type"] else torch.ones(*tokens.shape, 1)
    del cache, resid
    print("\n".join(paths_table(cfg, w, tokens, order, patterns, scales, final, mlp_out=[])))


def layer_norm_scale(x):
    """sqrt(var(x) + 1e-5) over d_model: the scale LayerNorm divides by, to be frozen."""
    x = x - x.mean(-1, keepdim=True)
    return (x.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt()


def paths_table(cfg, w, tokens, order, patterns, scales, final, mlp_out):
    """The exact path expansion of docs/math.md ("Path expansion") by the same algorithm as `PathExpansion`, given the
    frozen pass (each layer's pattern [b, h, q, k] and LN1 scale, the final scale, each MLP's output when the model has
    MLPs): paths walked depth first with only the current path's residuals alive; each term's squared norm from the
    Gram matrix G = W_U W_Uᵀ (order 0) or the per-head quadratic form M_h = P_h G P_hᵀ (P_h = W_O^h C diag(w)); its
    next-token logit from the next tokens' W_U columns; the rest and term importance from the (layer, order) recursion,
    each loss by blocks of 512 predicting rows of the unembedding with torch's cross_entropy. No term's logits are made.
    Returns the table's lines: rank, path, norm, share, mean next-token logit; then each order's loss."""
    L, H, dm = cfg["n_layers"], cfg["n_heads"], cfg["d_model"]
    norm = cfg["normalization_type"]
    shortformer = cfg["positional_embedding_type"] == "shortformer"
    b, n = tokens.shape
    W_U = w["unembed.W_U"]
    inverse = 1 / final

    def normalize(r, sigma, name):
        if norm is None:
            return r
        r = (r - r.mean(-1, keepdim=True)) / sigma
        return r * w[name + ".w"] if norm == "LN" else r

    def mix(r_normalized, l, h):
        return patterns[l][:, h] @ (r_normalized @ w[f"blocks.{l}.attn.W_V"][h])

    def out(z, l, h):
        return z @ w[f"blocks.{l}.attn.W_O"][h]

    bias_u = w["unembed.b_U"] + (w["ln_final.b"] @ W_U if norm == "LN" else 0)
    gram = W_U @ W_U.T
    targets = tokens[:, 1:]
    w_next = W_U.T[targets]  # [b, n - 1, d_model]: the next tokens' unembedding columns
    quad = {}

    def head_forms(l, h):
        if (l, h) not in quad:
            p = w[f"blocks.{l}.attn.W_O"][h]
            if norm:
                p = p - p.mean(-1, keepdim=True)
                if norm == "LN":
                    p = p * w["ln_final.w"]
            quad[(l, h)] = (p @ gram @ p.T, w_next @ p.T)
        return quad[(l, h)]

    def of_residual(r):
        u = normalize(r, final, "ln_final")
        return ((u @ gram) * u).double().sum().item(), (u[:, :-1] * w_next).double().sum().item()

    def of_head(z, l, h):
        m, q = head_forms(l, h)
        square = (inverse.pow(2) * ((z @ m) * z).sum(-1, keepdim=True)).double().sum().item()
        nxt = (inverse[:, :-1] * (z[:, :-1] * q).sum(-1, keepdim=True)).double().sum().item()
        return square, nxt

    sources = [("embed", w["embed.W_E"][tokens], 0)]
    if not shortformer:
        sources.append(("pos_embed", w["pos_embed.W_pos"][:n].expand(b, n, -1).contiguous(), 0))
    constants = []
    for l in range(L):
        const = w[f"blocks.{l}.attn.b_O"].clone()
        for h in range(H):
            vb = w[f"blocks.{l}.attn.b_V"][h] + (w[f"blocks.{l}.ln1.b"] @ w[f"blocks.{l}.attn.W_V"][h] if norm == "LN" else 0)
            const += vb @ w[f"blocks.{l}.attn.W_O"][h]
        constants.append(const.expand(b, n, -1).contiguous())
        sources.append((f"b{l}", constants[l], l + 1))
        if mlp_out:
            sources.append((f"mlp{l}", mlp_out[l], l + 1))

    terms = []  # (name, heads, squared norm, next-token sum)

    def walk(name, heads, r, z, last, first):
        square, nxt = of_residual(r) if z is None else of_head(z, *last)
        terms.append((name, heads, square, nxt))
        if order is not None and len(heads) == order:
            return
        if z is not None:
            r = out(z, *last)
        for l in range(first, L):
            x = normalize(r, scales[l], f"blocks.{l}.ln1")
            for h in range(H):
                walk(name, heads + [f"{l}.{h}"], None, mix(x, l, h), (l, h), l + 1)

    for name, r, first in sources:
        walk(name, [], r, None, None, first)
    terms.append(("b_U", [], b * n * bias_u.double().pow(2).sum().item(), bias_u[targets].double().sum().item()))
    terms.sort(key=lambda t: len(t[1]))  # stable: the listing order

    # Every order's residual sum by the recursion over layers: layer l's heads move order k to k + 1.
    by_order = [w["embed.W_E"][tokens] + (0 if shortformer else w["pos_embed.W_pos"][:n])] + [torch.zeros(b, n, dm) for _ in range(L)]
    for l in range(L):
        for k in range(l, -1, -1):
            x = normalize(by_order[k], scales[l], f"blocks.{l}.ln1")
            for h in range(H):
                by_order[k + 1] += out(mix(x, l, h), l, h)
        by_order[0] += constants[l] + (mlp_out[l] if mlp_out else 0)
    if order is not None:
        square, nxt = of_residual(sum(by_order[order + 1:], torch.zeros(b, n, dm)))
        terms.append(("rest", [], square, nxt))

    def loss_of(residual):
        x = normalize(residual, final, "ln_final")[:, :-1].reshape(-1, dm)
        t = targets.reshape(-1)
        total = 0.0
        for i in range(0, x.shape[0], 512):
            logits = torch.addmm(bias_u, x[i:i + 512], W_U)
            total += torch.nn.functional.cross_entropy(logits, t[i:i + 512], reduction="sum").double().item()
        return total / x.shape[0]

    total = sum(t[2] for t in terms)
    predicted = b * (n - 1)
    ranked = sorted(terms, key=lambda t: -t[2])
    lines = [f"{i + 1}\t{t[0]}{''.join(' ' + h for h in t[1])}\t{math.sqrt(t[2]):.3f}\t{t[2] / total:.1%}\t{t[3] / predicted:.3f}"
             for i, t in enumerate(ranked)]
    residual = torch.zeros(b, n, dm)
    for k in range(L + 1):
        residual += by_order[k]
        lines.append(f"{k}\t{loss_of(residual):.4f}")
    return lines


def save_safetensors(path, tensors):
    header, offset = {}, 0
    for name, t in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + t.numel() * 4]}
        offset += t.numel() * 4
    data = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(data)) + data)
        for t in tensors.values():
            f.write(t.detach().contiguous().numpy().tobytes())


def command_train(out, steps):
    """`circuitdsl train --task repeated-tokens --steps N --out DIR` with the defaults (2 layers × 4 heads, d_model 64,
    d_head 16, vocab 64, context 64, LN, standard positions): TL's initialisation, the repeated-tokens recipe (batch
    16, AdamW 3e-3, 100 warm-up steps then cosine to 0.1×, weight decay 0.01 on the matrices, clip 1), a progress line
    and a checkpoint (config.json + model.safetensors) every tenth of the run, and the folder at the end."""
    import os
    cfg = {"n_layers": 2, "n_heads": 4, "d_model": 64, "d_head": 16, "d_vocab": 64, "n_ctx": 64, "normalization_type": "LN",
           "positional_embedding_type": "standard", "attn_only": True}
    L, H, D, K, V, T = (cfg[k] for k in ("n_layers", "n_heads", "d_model", "d_head", "d_vocab", "n_ctx"))
    g = torch.Generator().manual_seed(0)
    std = 0.8 / math.sqrt(D)
    init = {"embed.W_E": torch.randn(V, D, generator=g) * std, "pos_embed.W_pos": torch.randn(T, D, generator=g) * std,
            "ln_final.w": torch.ones(D), "ln_final.b": torch.zeros(D),
            "unembed.W_U": torch.randn(D, V, generator=g) * std, "unembed.b_U": torch.zeros(V)}
    for l in range(L):
        p = f"blocks.{l}."
        init.update({p + "ln1.w": torch.ones(D), p + "ln1.b": torch.zeros(D),
                     p + "attn.W_Q": torch.randn(H, D, K, generator=g) * std, p + "attn.W_K": torch.randn(H, D, K, generator=g) * std,
                     p + "attn.W_V": torch.randn(H, D, K, generator=g) * std, p + "attn.W_O": torch.randn(H, K, D, generator=g) * std,
                     p + "attn.b_Q": torch.zeros(H, K), p + "attn.b_K": torch.zeros(H, K), p + "attn.b_V": torch.zeros(H, K),
                     p + "attn.b_O": torch.zeros(D)})
    params = {k: torch.nn.Parameter(v) for k, v in init.items()}
    matrices = ("W_Q", "W_K", "W_V", "W_O", "W_U")
    opt = torch.optim.AdamW([{"params": [p for n, p in params.items() if n.split(".")[-1] in matrices], "weight_decay": 0.01},
                             {"params": [p for n, p in params.items() if n.split(".")[-1] not in matrices], "weight_decay": 0.0}],
                            lr=3e-3, betas=(0.9, 0.999), eps=1e-8)
    warmup, floor = 100, 0.1
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: (i + 1) / warmup if i + 1 <= warmup else
                                              floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * (i + 1 - warmup) / max(1, steps - warmup))))
    os.makedirs(out, exist_ok=True)

    def save():
        with open(f"{out}/config.json", "w") as f:
            json.dump(cfg, f)
        save_safetensors(f"{out}/model.safetensors", params)

    every, total, start = max(steps // 10, 1), 0.0, time.perf_counter()
    for i in range(steps):
        half = torch.randint(0, V, (16, T // 2), generator=g)
        tokens = torch.cat([half, half], 1)
        with torch.enable_grad():
            logits = Model(cfg, params).run(tokens)
            loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), tokens[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
            opt.step()
            sched.step()
        total += loss.item()
        if (i + 1) % every == 0:
            print(f"step {i + 1}/{steps}  loss {total / every:.3f}", flush=True)
            total = 0.0
            save()
    save()
    print(f"trained {steps} steps in {time.perf_counter() - start:.1f} s; wrote {out}")


if __name__ == "__main__":
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    if sys.argv[1] in ("load-safetensors", "load-pth"):
        # What loading costs in resident memory: every value read once (as `inspect` scans them for NaN).
        w = load_safetensors(sys.argv[2]) if sys.argv[1] == "load-safetensors" else torch.load(sys.argv[2])
        print(all(bool(torch.isfinite(t).all()) for t in w.values()))
    elif sys.argv[1] == "inspect":
        print(inspect(sys.argv[2]))
    elif sys.argv[1] == "make-pth":
        torch.save({k: v.clone() for k, v in load_safetensors(sys.argv[2]).items()}, sys.argv[3])
    elif sys.argv[1] == "make-tokens":
        with open(sys.argv[2], "w") as f:
            json.dump(lcg_tokens(int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])).tolist(), f)
    elif sys.argv[1] == "command":
        {"loss": lambda a: command_loss(*a), "logits": lambda a: command_logits(*a),
         "paths": lambda a: command_paths(a[0], a[1], int(a[2]) if len(a) > 2 else None),
         "train": lambda a: command_train(a[0], int(a[1])), "patch": lambda a: command_patch(*a)}[sys.argv[2]](sys.argv[3:])
    elif sys.argv[1] == "sgemm":
        sgemm(int(sys.argv[2]) if len(sys.argv) > 2 else 5)
    else:
        run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 7, sys.argv[3].split(",") if len(sys.argv) > 3 else ["all"])
