#!/usr/bin/python3
"""Hugging Face GPT-2 checkpoints and a byte-level BPE tokenizer, with the logits of a plain-PyTorch GPT-2 forward.

No `transformers` or `tokenizers` package: the checkpoint is a state dict written under GPT2LMHeadModel's names and
shapes (Conv1D weights stored [in, out], the fused c_attn, the causal-mask buffers), and the forward pass below is
GPT-2's as its model code defines it, written out by hand in float64 from the float32 weights:

    x = wte[ids] + wpe[pos]
    per block:  a = ln_1(x); q, k, v = split(a @ c_attn.w + c_attn.b) into heads of d_head
                x = x + merge(softmax(causal(q k^T / sqrt(d_head))) v) @ attn.c_proj.w + attn.c_proj.b
                x = x + gelu_new(ln_2(x) @ c_fc.w + c_fc.b) @ mlp.c_proj.w + mlp.c_proj.b
    logits = ln_f(x) @ wte^T            (lm_head tied to wte; LayerNorm epsilon = layer_norm_epsilon)

The tokenizer is GPT-2's kind (byte-level BPE: bytes mapped to printable characters, GPT-2's pre-tokenization, merges
learned here from a small text) written both as vocab.json + merges.txt and as a Hugging Face tokenizer.json. Token ids
of the test texts come from this script's own BPE encoder (not the library under test), with <|endoftext|> prepended as
TransformerLens's prepend_bos does.

Committed output (small: 2 layers, d_model 64, 4 heads, a 297-token vocabulary, n_positions 32):

    hf_st/    config.json, model.safetensors (names without the "transformer." prefix, no lm_head: tied), tokenizer files
    hf_bin/   config.json, pytorch_model.bin (torch.save: "transformer." prefix, lm_head.weight sharing wte's storage,
              attn.bias / attn.masked_bias buffers), vocab.json + merges.txt
    expected.json  texts, their token ids and the reference logits

    /usr/bin/python3 tests/CircuitDsl.Tests/Fixtures/Gpt2/make_fixtures.py

The benchmark's GPT-2-small-shaped checkpoint (124M parameters; never committed) is written by

    /usr/bin/python3 tests/CircuitDsl.Tests/Fixtures/Gpt2/make_fixtures.py --gpt2-small DIR
"""
import json
import math
import os
import re
import shutil
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(2)

SMALL = {"n_layer": 2, "n_embd": 64, "n_head": 4, "n_positions": 32}
GPT2_SMALL = {"n_layer": 12, "n_embd": 768, "n_head": 12, "n_positions": 1024, "vocab_size": 50257}
TEXTS = ["the cat sat on the mat", "then the dog ate the hat"]
CORPUS = """the cat sat on the mat. the dog ate the hat. then the cat and the dog sat on the hat.
that is the thing: these cats sat there, then those dogs ate. it's the end, isn't it? 1234 5678."""
MERGES = 40
EOT = "<|endoftext|>"
# GPT-2's pre-tokenization, for ASCII text.
SPLIT = re.compile(r"""'(?:[sdmt]|ll|ve|re)| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's byte-to-character table: printable bytes stand for themselves, the rest move to 256 and up."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


def learn_tokenizer():
    """Byte tokens 0-255 (in table order), MERGES learned merges, then <|endoftext|>."""
    table = bytes_to_unicode()
    vocab = {table[b]: b for b in range(256)}
    words = [[table[b] for b in w.encode()] for w in SPLIT.findall(CORPUS)]
    merges = []
    for _ in range(MERGES):
        counts = {}
        for w in words:
            for pair in zip(w, w[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        best = max(sorted(counts), key=lambda p: counts[p])
        merges.append(best)
        vocab[best[0] + best[1]] = len(vocab)
        words = [merge_word(w, best) for w in words]
    vocab[EOT] = len(vocab)
    return vocab, merges


def merge_word(word, pair):
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(word[i] + word[i + 1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def encode(text, vocab, merges):
    """BPE as GPT-2 does it: per pre-token, apply the lowest-ranked merge present until none applies."""
    table = bytes_to_unicode()
    rank = {m: i for i, m in enumerate(merges)}
    ids = [vocab[EOT]]
    for piece in SPLIT.findall(text):
        word = [table[b] for b in piece.encode()]
        while True:
            pairs = [(rank[p], p) for p in zip(word, word[1:]) if p in rank]
            if not pairs:
                break
            word = merge_word(word, min(pairs)[1])
        ids += [vocab[t] for t in word]
    return ids


def random_checkpoint(cfg, gen):
    """GPT2LMHeadModel's parameters (without the transformer. prefix), seeded, float32."""
    d, v, n = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    inner = 4 * d

    def r(*shape, std=0.2):
        return (torch.randn(*shape, generator=gen) * std).float()

    sd = {"wte.weight": r(v, d, std=0.5), "wpe.weight": r(n, d, std=0.3)}
    for l in range(cfg["n_layer"]):
        p = f"h.{l}."
        sd[p + "ln_1.weight"] = 1 + r(d, std=0.1)
        sd[p + "ln_1.bias"] = r(d, std=0.1)
        sd[p + "attn.c_attn.weight"] = r(d, 3 * d, std=1 / math.sqrt(d))
        sd[p + "attn.c_attn.bias"] = r(3 * d, std=0.1)
        sd[p + "attn.c_proj.weight"] = r(d, d, std=1 / math.sqrt(d))
        sd[p + "attn.c_proj.bias"] = r(d, std=0.1)
        sd[p + "ln_2.weight"] = 1 + r(d, std=0.1)
        sd[p + "ln_2.bias"] = r(d, std=0.1)
        sd[p + "mlp.c_fc.weight"] = r(d, inner, std=1 / math.sqrt(d))
        sd[p + "mlp.c_fc.bias"] = r(inner, std=0.1)
        sd[p + "mlp.c_proj.weight"] = r(inner, d, std=1 / math.sqrt(inner))
        sd[p + "mlp.c_proj.bias"] = r(d, std=0.1)
    sd["ln_f.weight"] = 1 + r(d, std=0.1)
    sd["ln_f.bias"] = r(d, std=0.1)
    return sd


def layer_norm(x, w, b, eps):
    x = x - x.mean(-1, keepdim=True)
    return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x.pow(3))))


def forward(cfg, sd, tokens):
    """GPT-2's forward pass in float64; tokens [batch, pos] -> logits [batch, pos, vocab]."""
    w = {k: t.double() for k, t in sd.items()}
    d, h = cfg["n_embd"], cfg["n_head"]
    dh, eps = d // h, cfg["layer_norm_epsilon"]
    b, n = tokens.shape
    x = w["wte.weight"][tokens] + w["wpe.weight"][:n]
    causal = torch.tril(torch.ones(n, n, dtype=torch.bool))
    for l in range(cfg["n_layer"]):
        p = f"h.{l}."
        a = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        q, k, v = (a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]).split(d, dim=-1)
        q, k, v = (t.view(b, n, h, dh).transpose(1, 2) for t in (q, k, v))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
        scores = scores.masked_fill(~causal, float("-inf"))
        z = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d)
        x = x + z @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        m = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        x = x + gelu_new(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]) @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    return layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps) @ w["wte.weight"].T


def hf_config(cfg):
    return {
        "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "activation_function": "gelu_new",
        "n_layer": cfg["n_layer"], "n_embd": cfg["n_embd"], "n_head": cfg["n_head"], "n_inner": None,
        "n_positions": cfg["n_positions"], "n_ctx": cfg["n_positions"], "vocab_size": cfg["vocab_size"],
        "layer_norm_epsilon": cfg["layer_norm_epsilon"], "bos_token_id": cfg["vocab_size"] - 1,
        "eos_token_id": cfg["vocab_size"] - 1, "scale_attn_weights": True, "tie_word_embeddings": True,
    }


def write_safetensors(path, sd):
    """The safetensors format by hand (u64 LE header length, JSON header padded to 8 bytes, data), streamed."""
    header, offset = {}, 0
    for name, t in sd.items():
        size = t.numel() * 4
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    h = json.dumps({"__metadata__": {"format": "pt"}, **header}, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for t in sd.values():
            f.write(t.float().contiguous().numpy().astype("<f4").tobytes())


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=1, ensure_ascii=False)
        f.write("\n")


def write_tokenizer(d, vocab, merges, as_json):
    if as_json:
        write_json(os.path.join(d, "tokenizer.json"), {
            "version": "1.0",
            "added_tokens": [{"id": vocab[EOT], "content": EOT, "special": True}],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "decoder": {"type": "ByteLevel"},
            "model": {"type": "BPE", "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
        })
    else:
        write_json(os.path.join(d, "vocab.json"), vocab)
        with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))


def fresh(d):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)


def small_fixtures():
    vocab, merges = learn_tokenizer()
    cfg = {**SMALL, "vocab_size": len(vocab), "layer_norm_epsilon": 1e-5}
    sd = random_checkpoint(cfg, torch.Generator().manual_seed(18))
    tokens = [encode(t, vocab, merges) for t in TEXTS]
    assert len({len(t) for t in tokens}) == 1, [len(t) for t in tokens]
    logits = forward(cfg, sd, torch.tensor(tokens))

    st = os.path.join(HERE, "hf_st")
    fresh(st)
    write_json(os.path.join(st, "config.json"), hf_config(cfg))
    write_safetensors(os.path.join(st, "model.safetensors"), sd)
    write_tokenizer(st, vocab, merges, as_json=True)

    bin_dir = os.path.join(HERE, "hf_bin")
    fresh(bin_dir)
    write_json(os.path.join(bin_dir, "config.json"), hf_config(cfg))
    full = {"transformer." + k: v.clone() for k, v in sd.items()}
    n = cfg["n_positions"]
    for l in range(cfg["n_layer"]):
        full[f"transformer.h.{l}.attn.bias"] = torch.tril(torch.ones(n, n, dtype=torch.bool)).view(1, 1, n, n)
        full[f"transformer.h.{l}.attn.masked_bias"] = torch.tensor(-1e4)
    full["lm_head.weight"] = full["transformer.wte.weight"]  # tied: one storage, pickled twice
    torch.save(full, os.path.join(bin_dir, "pytorch_model.bin"))
    write_tokenizer(bin_dir, vocab, merges, as_json=False)

    write_json(os.path.join(HERE, "expected.json"), {
        "texts": TEXTS,
        "tokens": tokens,
        "ids": {"the": vocab.get("the"), "Ġthe": vocab.get("Ġthe"), EOT: vocab[EOT]},
        "logits": [[[float(f"{v:.8g}") for v in row] for row in seq] for seq in logits.tolist()],
    })


def gpt2_small(out):
    """A GPT-2-small-shaped random checkpoint (124M parameters) with the built-in GPT-2 tokenizer named."""
    cfg = {**GPT2_SMALL, "layer_norm_epsilon": 1e-5}
    fresh(out)
    config = hf_config(cfg)
    config["tokenizer_name"] = "gpt2"
    write_json(os.path.join(out, "config.json"), config)
    write_safetensors(os.path.join(out, "model.safetensors"), random_checkpoint(cfg, torch.Generator().manual_seed(124)))


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    if len(sys.argv) == 3 and sys.argv[1] == "--gpt2-small":
        gpt2_small(sys.argv[2])
    else:
        small_fixtures()
