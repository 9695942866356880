"""Writes prompts.json: the tokens file the induction claims on "your own data" are measured on.

Eight prompts of 60 tokens, each a phrase of 20 distinct random tokens (0..63) said three times over: unlike the
training task's stretches, every repeat is a whole phrase, and the third copy can be predicted from two earlier ones.
Run with any Python 3: python3 make_prompts.py
"""
import json
import random

rng = random.Random(2021)
prompts = []
for _ in range(8):
    phrase = rng.sample(range(64), 20)
    prompts.append(phrase * 3)

with open("prompts.json", "w", encoding="utf-8") as f:
    json.dump(prompts, f)
    f.write("\n")
