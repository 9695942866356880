"""Builds the weights-I/O fixtures. Run from anywhere with Debian's interpreter:

    /usr/bin/python3 tests/CircuitDsl.Tests/Fixtures/Weights/make_fixtures.py

Seeded, so re-running gives the same tensors (torch.save's zip bytes may differ between torch versions).
Every model folder holds config.json with TransformerLens HookedTransformerConfig names (plus a few fields
this project ignores, to prove unknown fields are accepted) and ONE weights file, so ModelFolder.Load
picks the format under test. The safetensors files are written by hand below: the `safetensors` package
is not installed here, and writing the format ourselves makes the fixture independent of our C# writer.
"""

import collections
import io
import json
import os
import pickle
import struct
import subprocess
import zipfile

import torch

torch.set_num_threads(2)
HERE = os.path.dirname(os.path.abspath(__file__))

ATTN_ONLY = {
    "n_layers": 1, "n_heads": 2, "d_model": 8, "d_head": 4, "d_vocab": 11, "n_ctx": 6,
    "d_mlp": None, "attn_only": True, "act_fn": None, "normalization_type": None,
    "positional_embedding_type": "standard", "seed": 1,
    # Fields TransformerLens writes that the C# side ignores.
    "model_name": "fixture-attn-only", "init_range": 0.02, "d_vocab_out": -1, "device": "cpu",
    "original_architecture": None, "use_attn_result": False,
}
LN_MLP = dict(ATTN_ONLY, attn_only=False, d_mlp=16, act_fn="gelu_new", normalization_type="LN",
              model_name="fixture-ln-mlp", seed=2)


def state_dict(cfg, seed):
    """A random TransformerLens-shaped state dict, in TL's state_dict() order, with TL's mask/IGNORE buffers."""
    g = torch.Generator().manual_seed(seed)
    dm, h, dh, dv, ctx = cfg["d_model"], cfg["n_heads"], cfg["d_head"], cfg["d_vocab"], cfg["n_ctx"]
    ln = cfg["normalization_type"] == "LN"
    mlp = not cfg["attn_only"]

    def r(*shape):
        return torch.randn(*shape, generator=g)

    sd = collections.OrderedDict()
    sd["embed.W_E"] = r(dv, dm)
    sd["pos_embed.W_pos"] = r(ctx, dm)
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}."
        if ln:
            sd[p + "ln1.w"] = 1 + 0.1 * r(dm)
            sd[p + "ln1.b"] = 0.1 * r(dm)
            if mlp:
                sd[p + "ln2.w"] = 1 + 0.1 * r(dm)
                sd[p + "ln2.b"] = 0.1 * r(dm)
        sd[p + "attn.W_Q"] = r(h, dm, dh)
        sd[p + "attn.W_O"] = r(h, dh, dm)
        sd[p + "attn.b_Q"] = r(h, dh)
        sd[p + "attn.b_O"] = r(dm)
        sd[p + "attn.W_K"] = r(h, dm, dh)
        sd[p + "attn.W_V"] = r(h, dm, dh)
        sd[p + "attn.b_K"] = r(h, dh)
        sd[p + "attn.b_V"] = r(h, dh)
        sd[p + "attn.mask"] = torch.tril(torch.ones(ctx, ctx)).bool()
        sd[p + "attn.IGNORE"] = torch.tensor(-1e5)
        if mlp:
            sd[p + "mlp.W_in"] = r(dm, cfg["d_mlp"])
            sd[p + "mlp.b_in"] = r(cfg["d_mlp"])
            sd[p + "mlp.W_out"] = r(cfg["d_mlp"], dm)
            sd[p + "mlp.b_out"] = r(dm)
    if ln:
        sd["ln_final.w"] = 1 + 0.1 * r(dm)
        sd["ln_final.b"] = 0.1 * r(dm)
    sd["unembed.W_U"] = r(dm, dv)
    sd["unembed.b_U"] = r(dv)
    return sd


ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.bool: "BOOL"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: reinterpret the bits
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.bool:
        return t.numpy().astype("u1").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, sd):
    """The safetensors format by hand: u64 LE header length, JSON header padded with spaces to 8 bytes, data."""
    header, chunks, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in sd.items():
        b = tensor_bytes(t)
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


def folder(name, cfg, weights_file, writer):
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    for old in ("model.pth", "model.safetensors"):
        if os.path.exists(os.path.join(d, old)):
            os.remove(os.path.join(d, old))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    writer(os.path.join(d, weights_file))


def strided(sd):
    """The same values, but W_U as a transposed (non-contiguous) view and b_U as a slice at a storage offset."""
    out = collections.OrderedDict(sd)
    out["unembed.W_U"] = sd["unembed.W_U"].t().contiguous().t()
    big = torch.zeros(3 + sd["unembed.b_U"].numel() + 2)
    big[3:3 + sd["unembed.b_U"].numel()] = sd["unembed.b_U"]
    out["unembed.b_U"] = big[3:3 + sd["unembed.b_U"].numel()]
    assert not out["unembed.W_U"].is_contiguous() and out["unembed.b_U"].storage_offset() == 3
    return out


def cast(sd, dtype):
    return collections.OrderedDict((k, v.to(dtype) if v.is_floating_point() else v) for k, v in sd.items())


class Evil:
    """What an attacker pickles: unpickling it calls fn(*args)."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def zip_with_pickle(path, pkl):
    """A torch-style zip archive whose data.pkl is raw bytes we choose (deflated: they are repetitive)."""
    with zipfile.ZipFile(path, "w") as z:
        for name, data in (("archive/data.pkl", pkl), ("archive/version", b"3\n")):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # fixed, so the bytes are reproducible
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


def summary(sd):
    """Per tensor: shape, float64 sum, and the first and last elements (row-major), as the tests' reference."""
    out = {}
    for k, v in sd.items():
        if v.is_floating_point() and not k.endswith(".IGNORE"):
            flat = v.double().flatten()
            out[k] = {"shape": list(v.shape), "sum": flat.sum().item(), "first": flat[0].item(), "last": flat[-1].item()}
    return out


def main():
    attn = state_dict(ATTN_ONLY, 1)
    lnmlp = state_dict(LN_MLP, 2)
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump({"attn_only": summary(attn), "ln_mlp": summary(lnmlp)}, f, indent=1)

    folder("attn_only_st", ATTN_ONLY, "model.safetensors", lambda p: write_safetensors(p, attn))
    folder("attn_only_pth", ATTN_ONLY, "model.pth", lambda p: torch.save(attn, p))
    folder("attn_only_pth_p4", ATTN_ONLY, "model.pth", lambda p: torch.save(attn, p, pickle_protocol=4))
    folder("attn_only_pth_strided", ATTN_ONLY, "model.pth", lambda p: torch.save(strided(attn), p))
    folder("ln_mlp_st", LN_MLP, "model.safetensors", lambda p: write_safetensors(p, lnmlp))
    folder("ln_mlp_pth", LN_MLP, "model.pth", lambda p: torch.save(lnmlp, p))
    # Half precision: the file holds F16/BF16; the *_ref folders hold torch's own widening back to F32.
    folder("ln_mlp_f16_st", LN_MLP, "model.safetensors", lambda p: write_safetensors(p, cast(lnmlp, torch.float16)))
    folder("ln_mlp_bf16_st", LN_MLP, "model.safetensors", lambda p: write_safetensors(p, cast(lnmlp, torch.bfloat16)))
    folder("ln_mlp_f16_pth", LN_MLP, "model.pth", lambda p: torch.save(cast(lnmlp, torch.float16), p))
    folder("ln_mlp_bf16_pth", LN_MLP, "model.pth", lambda p: torch.save(cast(lnmlp, torch.bfloat16), p))
    folder("ln_mlp_f16_ref", LN_MLP, "model.safetensors",
           lambda p: write_safetensors(p, cast(cast(lnmlp, torch.float16), torch.float32)))
    folder("ln_mlp_bf16_ref", LN_MLP, "model.safetensors",
           lambda p: write_safetensors(p, cast(cast(lnmlp, torch.bfloat16), torch.float32)))
    # A torch.save'd module state dict carries OrderedDict._metadata, restored with BUILD.
    # Saving parameters themselves (not a state dict) adds _rebuild_parameter around _rebuild_tensor_v2.
    folder("parameters", ATTN_ONLY, "model.pth",
           lambda p: torch.save({"w": torch.nn.Parameter(torch.arange(6.0).reshape(2, 3))}, p))
    torch.manual_seed(0)
    m = torch.nn.Linear(2, 3)
    folder("module_state_dict", ATTN_ONLY, "model.pth", lambda p: torch.save(m.state_dict(), p))

    mal = os.path.join(HERE, "malicious")
    os.makedirs(mal, exist_ok=True)
    torch.save({"embed.W_E": Evil(os.system, "echo pwned > /tmp/circuitdsl-pwned")}, os.path.join(mal, "os_system.pth"))
    torch.save({"embed.W_E": Evil(subprocess.Popen, ["touch", "/tmp/circuitdsl-pwned"])}, os.path.join(mal, "popen.pth"))
    torch.save({"embed.W_E": Evil(eval, "__import__('os').system('true')")}, os.path.join(mal, "eval.pth"))
    # Protocol 2 writes Python 2 module names (__builtin__, commands); protocol 4 writes the Python 3 ones.
    torch.save({"embed.W_E": Evil(subprocess.Popen, ["true"])}, os.path.join(mal, "popen_p4.pth"), pickle_protocol=4)
    torch.save({"embed.W_E": Evil(eval, "1")}, os.path.join(mal, "eval_p4.pth"), pickle_protocol=4)
    torch.save({"embed.W_E": Evil(getattr, 0, "real")}, os.path.join(mal, "getattr_p4.pth"), pickle_protocol=4)
    # 100 000 nested MARKs, then 150 000 empty lists on the stack: both must hit a limit, not the C# stack.
    zip_with_pickle(os.path.join(mal, "deep_marks.pth"), b"\x80\x02" + b"(" * 100_000 + b".")
    zip_with_pickle(os.path.join(mal, "deep_lists.pth"), b"\x80\x02" + b"]" * 150_000 + b".")
    # A list that contains itself: harmless to a stack machine, but it is not a state dict.
    cyclic = []
    cyclic.append(cyclic)
    zip_with_pickle(os.path.join(mal, "cyclic.pth"), pickle.dumps(cyclic, protocol=2))
    # A pre-1.6 (non-zip) pickle: refused with a hint, never unpickled.
    with open(os.path.join(mal, "legacy.pth"), "wb") as f:
        f.write(pickle.dumps({"a": 1}, protocol=2))


if __name__ == "__main__":
    main()
