#!/usr/bin/python3
"""Builds the DeepSeek-OCR 2 tokenizer.json from the DeepSeek-V3 one by adding
the 12 OCR special tokens (MODEL.md §7): ids 128815..128826, special=true.
usage: make-tokenizer.py V3_TOKENIZER_JSON OUT"""
import json, sys

OCR_TOKENS = ["<image>", "<|ref|>", "<|/ref|>", "<|det|>", "<|/det|>", "<|grounding|>",
              "<td>", "</td>", "<tr>", "</tr>", "<|User|>", "<|Assistant|>"]

src, out = sys.argv[1], sys.argv[2]
with open(src, encoding="utf-8") as f:
    tok = json.load(f)
have = {t["content"]: t["id"] for t in tok["added_tokens"]}
for i, text in enumerate(OCR_TOKENS):
    tid = 128815 + i
    if text in have:
        assert have[text] == tid, (text, have[text])
        continue
    tok["added_tokens"].append({"id": tid, "content": text, "single_word": False,
                                "lstrip": False, "rstrip": False, "normalized": False,
                                "special": True})
with open(out, "w", encoding="utf-8") as f:
    json.dump(tok, f, ensure_ascii=False)
