#!/usr/bin/python3
"""Reference composition and copying scores, computed the way TransformerLens computes them, in PyTorch.

Run with /usr/bin/python3 (Debian's python3-torch). Writes scores.json next to this script: seeded random
attention-only weights (float32, TransformerLens names and shapes) and the expected numbers.

The formulas follow TransformerLens (FactoredMatrix.py, utils.composition_scores,
HookedTransformer.all_composition_scores, the copying score of Main_Demo); they are written out here rather
than imported, since TransformerLens is not installed. Arithmetic is float64 on the float32 weights.
"""
import json
import os

import torch

torch.set_num_threads(2)


class Factored:
    """TransformerLens's FactoredMatrix: A @ B kept factored, batched over leading axes."""

    def __init__(self, a, b):
        self.A, self.B = a, b
        self.ldim, self.mdim, self.rdim = a.shape[-2], a.shape[-1], b.shape[-1]

    def matmul_tensor(self, other):
        # TransformerLens: absorb into B when that keeps the inner dimension, else form AB.
        if self.rdim > self.mdim:
            return Factored(self.A, self.B @ other)
        return Factored(self.A @ self.B, other)

    def __matmul__(self, other):
        return self.matmul_tensor(other.A).matmul_tensor(other.B)

    @property
    def T(self):
        return Factored(self.B.transpose(-2, -1), self.A.transpose(-2, -1))

    def svd(self):
        ua, sa, va = torch.svd(self.A)
        ub, sb, vb = torch.svd(self.B)
        middle = sa[..., :, None] * va.transpose(-2, -1) @ ub * sb[..., None, :]
        um, sm, vm = torch.svd(middle)
        return ua @ um, sm, vb @ vm

    def norm(self):
        return self.svd()[1].pow(2).sum(-1).sqrt()

    def eigenvalues(self):
        return torch.linalg.eig(self.B @ self.A).eigenvalues


def composition_scores(left, right):
    product = left @ right
    return product.norm() / (left.norm() * right.norm())


def main():
    torch.manual_seed(1234)
    n_layers, n_heads, d_model, d_head, d_vocab, n_ctx = 3, 2, 8, 3, 13, 6
    shapes = {
        "embed.W_E": (d_vocab, d_model),
        "pos_embed.W_pos": (n_ctx, d_model),
        "unembed.W_U": (d_model, d_vocab),
        "unembed.b_U": (d_vocab,),
    }
    for l in range(n_layers):
        for x in "QKV":
            shapes[f"blocks.{l}.attn.W_{x}"] = (n_heads, d_model, d_head)
            shapes[f"blocks.{l}.attn.b_{x}"] = (n_heads, d_head)
        shapes[f"blocks.{l}.attn.W_O"] = (n_heads, d_head, d_model)
        shapes[f"blocks.{l}.attn.b_O"] = (d_model,)
    weights = {name: (torch.randn(shape) * 0.5).float() for name, shape in shapes.items()}
    w = {name: t.double() for name, t in weights.items()}

    def stack(x):
        return torch.stack([w[f"blocks.{l}.attn.W_{x}"] for l in range(n_layers)])  # [layer, head, ...]

    W_Q, W_K, W_V, W_O = stack("Q"), stack("K"), stack("V"), stack("O")
    OV = Factored(W_V, W_O)
    QK = Factored(W_Q, W_K.transpose(-2, -1))
    composition = {}
    for kind, right in (("Q", QK), ("K", QK.T), ("V", OV)):
        rows = []
        for l1 in range(n_layers):
            for h1 in range(n_heads):
                for l2 in range(l1 + 1, n_layers):
                    for h2 in range(n_heads):
                        left = Factored(OV.A[l1, h1], OV.B[l1, h1])
                        r = Factored(right.A[l2, h2], right.B[l2, h2])
                        rows.append([l1, h1, l2, h2, composition_scores(left, r).item()])
        composition[kind] = rows

    copying = []
    for l in range(n_layers):
        for h in range(n_heads):
            full_ov = Factored(w["embed.W_E"] @ W_V[l, h], W_O[l, h] @ w["unembed.W_U"])
            eig = full_ov.eigenvalues()
            copying.append([l, h, (eig.sum().real / eig.abs().sum()).item()])

    config = {
        "n_layers": n_layers, "n_heads": n_heads, "d_model": d_model, "d_head": d_head, "d_vocab": d_vocab,
        "n_ctx": n_ctx, "d_mlp": None, "attn_only": True, "act_fn": None, "normalization_type": None,
        "positional_embedding_type": "standard", "seed": 1234,
    }
    out = {
        "config": config,
        "weights": {name: {"shape": list(t.shape), "data": [float(v) for v in t.flatten().tolist()]} for name, t in weights.items()},
        "composition": composition,
        "copying": copying,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scores.json")
    with open(path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
