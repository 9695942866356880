"""PyTorch reference for CircuitDsl's induction recipe (tests/benchmarks/Training/InductionRecipe.cs).

Same model (2 layers, 4 heads, d_model 64, d_head 16, vocab 64, n_ctx 64, attention only, TransformerLens
conventions), same initialisation (every W_* ~ N(0, (0.8/sqrt(d_model))^2), zero biases), same data
distribution (RepeatedTokensTask: half periodic rows with period 6..32, half random rows with one chunk of
n_ctx/8..n_ctx/2 tokens repeated later), same optimiser (AdamW, decay only on W_Q/W_K/W_V/W_O/W_U, betas
0.9/0.999), linear warm-up then cosine to 0.1x, global-norm clip 1.0. The random streams differ from C#'s, so
curves match in shape, not bit for bit. Run:
    /usr/bin/python3 tests/CircuitDsl.Tests/Fixtures/Training/train_reference.py [steps] [seed] [batch] [lr] [norm]
"""
import math
import sys
import time

import numpy as np
import torch

torch.set_num_threads(2)
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 16
lr = float(sys.argv[4]) if len(sys.argv) > 4 else 3e-3
norm = sys.argv[5] if len(sys.argv) > 5 else "LN"
L, H, D, DH, V, T = 2, 4, 64, 16, 64, 64
warmup, floor, wd, clip = 100, 0.1, 0.01, 1.0
torch.manual_seed(seed)
rng = np.random.default_rng(seed)
std = 0.8 / math.sqrt(D)


def param(*shape, w=True):
    return torch.nn.Parameter(torch.randn(*shape) * std if w else torch.zeros(*shape))


P = {"embed.W_E": param(V, D), "pos_embed.W_pos": param(T, D)}
for l in range(L):
    for n in "QKV":
        P[f"blocks.{l}.attn.W_{n}"] = param(H, D, DH)
        P[f"blocks.{l}.attn.b_{n}"] = param(H, DH, w=False)
    P[f"blocks.{l}.attn.W_O"] = param(H, DH, D)
    P[f"blocks.{l}.attn.b_O"] = param(D, w=False)
    if norm == "LN":
        P[f"blocks.{l}.ln1.w"] = torch.nn.Parameter(torch.ones(D))
        P[f"blocks.{l}.ln1.b"] = param(D, w=False)
if norm == "LN":
    P["ln_final.w"] = torch.nn.Parameter(torch.ones(D))
    P["ln_final.b"] = param(D, w=False)
P["unembed.W_U"] = param(D, V)
P["unembed.b_U"] = param(V, w=False)
mask = torch.tril(torch.ones(T, T, dtype=torch.bool))


def ln(x, name):
    if norm == "none":
        return x
    x = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + 1e-5)
    return x * P[name + ".w"] + P[name + ".b"]


def forward(tokens):
    t = tokens.shape[1]
    x = P["embed.W_E"][tokens] + P["pos_embed.W_pos"][:t]
    patterns = []
    for l in range(L):
        a = ln(x, f"blocks.{l}.ln1")
        q, k, v = (torch.einsum("bpd,hde->bphe", a, P[f"blocks.{l}.attn.W_{n}"]) + P[f"blocks.{l}.attn.b_{n}"] for n in "QKV")
        s = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(DH)
        s = s.masked_fill(~mask[:t, :t], float("-inf"))
        p = s.softmax(-1)
        patterns.append(p)
        z = torch.einsum("bhqk,bkhe->bqhe", p, v)
        x = x + torch.einsum("bqhe,hed->bqd", z, P[f"blocks.{l}.attn.W_O"]) + P[f"blocks.{l}.attn.b_O"]
    return ln(x, "ln_final") @ P["unembed.W_U"] + P["unembed.b_U"], patterns


def sample():
    seq = rng.integers(0, V, T)
    if rng.random() < 0.5:
        period = int(rng.integers(6, min(32, T // 2) + 1))
        for p in range(period, T):
            seq[p] = seq[p - period]
    else:
        chunk = int(rng.integers(T // 8, T // 2 + 1))
        src = int(rng.integers(0, T - 2 * chunk + 1))
        dst = int(rng.integers(src + chunk, T - chunk + 1))
        seq[dst:dst + chunk] = seq[src:src + chunk].copy()
    return seq


def losses(tokens):
    logits, patterns = forward(tokens)
    lp = logits[:, :-1].log_softmax(-1).gather(-1, tokens[:, 1:, None])[..., 0]
    return -lp, patterns


decay = [p for n, p in P.items() if n.split(".")[-1] in ("W_Q", "W_K", "W_V", "W_O", "W_U")]
rest = [p for n, p in P.items() if n.split(".")[-1] not in ("W_Q", "W_K", "W_V", "W_O", "W_U")]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.999), eps=1e-8)


def schedule(i):  # i = 0-based step index; CircuitDsl's step = i + 1
    s = i + 1
    if s <= warmup:
        return s / warmup
    prog = (s - warmup) / max(1, steps - warmup)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * prog))


sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
half = (T - 1) // 2
drng = np.random.default_rng(2024)
det = torch.tensor(np.stack([np.tile(drng.permutation(V)[:half], 2) for _ in range(32)]))


def measure():
    with torch.no_grad():
        l, pats = losses(det)
        first, rep = l[:, : half - 1].mean().item(), l[:, half:].mean().item()
        n = det.shape[1]
        prev = pats[0][:, :, 1:, :].diagonal(offset=0, dim1=-2, dim2=-1).mean((0, 2))
        eq = det[:, :, None] == det[:, None, :]
        tgt = torch.zeros(det.shape[0], n, n)
        tgt[:, :, 1:] = eq[:, :, :-1].float()
        tgt = tgt * mask[:n, :n]
        has = tgt.sum(-1) > 0
        mass = (pats[1] * tgt[:, None]).sum(-1)
        ind = ((mass * has[:, None]).sum(-1) / has.sum(-1)[:, None]).mean(0)
    return f"prev-token L0 max {prev.max():.3f} {[round(x, 2) for x in prev.tolist()]}  induction L1 max {ind.max():.3f} {[round(x, 2) for x in ind.tolist()]}  loss first half {first:.3f}  repeated half {rep:.3f}"


print(f"torch {torch.__version__}, threads {torch.get_num_threads()}; norm {norm}; steps {steps}, batch {batch}, lr {lr}, warm-up {warmup}, cosine to {floor}, wd {wd}, clip {clip}, seed {seed}")
start = time.time()
run = 0.0
for i in range(steps):
    tokens = torch.tensor(np.stack([sample() for _ in range(batch)]))
    l, _ = losses(tokens)
    loss = l.mean()
    opt.zero_grad()
    loss.backward()
    gnorm = torch.nn.utils.clip_grad_norm_(list(P.values()), clip)
    opt.step()
    sched.step()
    run += loss.item()
    if (i + 1) % 100 == 0:
        print(f"step {i + 1:5d}  loss {run / 100:.4f}  |g| {gnorm:.3f}  {(i + 1) * batch * T / (time.time() - start):.0f} tok/s  {time.time() - start:.1f} s")
        run = 0.0
    if (i + 1) % 250 == 0:
        print(f"  step {i + 1:5d}  {measure()}")
print(f"final: {measure()}")
print(f"training wall time {time.time() - start:.1f} s (including measurement)")
