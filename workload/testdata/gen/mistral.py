"""Writes ../mistral-tokenizer.json, a small Mistral-7B-v0.1-style
tokenizer.json for tests: a Metaspace pre-tokenizer (replacement "▁",
prepend_scheme "first", split false) as the tokenizers library writes
for Llama and Mistral since 0.19, no normalizer, a BPE model with byte
fallback, and 700 merges learned from the sonnets corpus by plain BPE
over words (a word: "▁" and the letters after a space, or the letters
after a newline), so no token spans a space boundary or a newline.

Run from workload/testdata/gen: python3 mistral.py
"""
import collections
import json
import re

text = open("../../corpus/sonnets.txt").read()
words = collections.Counter()
for line in text.split("\n"):
    line = line.strip()
    if not line:
        continue
    for k, w in enumerate(line.split(" ")):
        words[("▁" + w) if k > 0 else w] += 1
        if k == 0:
            words["▁" + w] += 1  # a line at the start of a text
seqs = {w: list(w) for w in words}
chars = sorted({c for w in words for c in w})
vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
for b in range(256):
    vocab["<0x%02X>" % b] = len(vocab)
for c in chars:
    vocab.setdefault(c, len(vocab))
merges = []
while len(merges) < 700:
    pairs = collections.Counter()
    for w, n in words.items():
        s = seqs[w]
        for a, b in zip(s, s[1:]):
            pairs[(a, b)] += n
    if not pairs:
        break
    (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
    merges.append(a + " " + b)
    vocab.setdefault(a + b, len(vocab))
    for w in words:
        s, out, i = seqs[w], [], 0
        while i < len(s):
            if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                out.append(a + b)
                i += 2
            else:
                out.append(s[i])
                i += 1
        seqs[w] = out
added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
          "normalized": False, "special": True} for i, t in enumerate(["<unk>", "<s>", "</s>"])]
doc = {
    "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
    "normalizer": None,
    "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False},
    "post_processor": None,
    "decoder": {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
    "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
              "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
              "vocab": vocab, "merges": merges},
}
with open("../mistral-tokenizer.json", "w") as f:
    json.dump(doc, f, ensure_ascii=False, indent=1)
