#!/usr/bin/python3
"""Checks (numpy only, no torch) that testdata/golden/ and testdata/models/ are in step:
every model golden's model_sha256 equals the sha256 of the model it was made from, each
golden parses as safetensors with the documented tensors, and the fixtures' sha256 match.
Exit 0 = consistent; 1 = a mismatch (regenerate: see testdata/README.md); 77 = skip
(models not built)."""
import hashlib
import json
import os
import struct
import sys

import numpy as np

TD = os.environ.get("TESTDATA") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DEC = ["prompt_ids", "image_embeds", "prefill_logits", "logit_subset_ids", "greedy_off",
       "greedy_vllm_20_50", "greedy_vllm_3_50", "greedy_hf_20", "text_greedy_off",
       "step1_top_ids", "step4_subset_logits"]
ENC = ["grid", "sam_global", "flow_global", "image_embeds", "prompt_ids", "greedy_off"]


def sha(p):
	h = hashlib.sha256()
	with open(p, "rb") as f:
		for b in iter(lambda: f.read(1 << 20), b""):
			h.update(b)
	return h.hexdigest()


def header(p):
	with open(p, "rb") as f:
		(n,) = struct.unpack("<Q", f.read(8))
		h = json.loads(f.read(n))
		size = os.fstat(f.fileno()).st_size
	end = 0
	for k, v in h.items():
		if k == "__metadata__":
			continue
		b, e = v["data_offsets"]
		w = {"F32": 4, "I32": 4}[v["dtype"]]
		if e - b != w * int(np.prod(v["shape"])):
			raise ValueError("%s: %s: size mismatch" % (p, k))
		end = max(end, e)
	if 8 + n + end != size:
		raise ValueError("%s: data length %d, file %d" % (p, 8 + n + end, size))
	return h


def main():
	bad = 0
	gold = os.path.join(TD, "golden")
	shas = {}
	for m in ("tiny", "tiny-f32"):
		st = os.path.join(TD, "models", m, "model-00001-of-000001.safetensors")
		if not os.path.exists(st):
			print("SKIP: %s missing (run testdata/make-tiny.py --out testdata/models)" % st)
			return 77
		shas[m] = sha(st)
	names = sorted(f for f in os.listdir(gold) if f.endswith(".safetensors"))
	for f in names:
		p = os.path.join(gold, f)
		try:
			h = header(p)
		except Exception as e:  # noqa: BLE001
			print("FAIL %s: %s" % (f, e))
			bad += 1
			continue
		meta = h.get("__metadata__", {})
		m = meta.get("model")
		want = DEC if f.startswith("decoder-") else ENC
		missing = [t for t in want if t not in h]
		if missing:
			print("FAIL %s: missing tensors %s" % (f, missing))
			bad += 1
		if m not in shas or meta.get("model_sha256") != shas[m]:
			print("FAIL %s: made from %s sha256 %s; testdata/models/%s has %s" % (
				f, m, meta.get("model_sha256"), m, shas.get(m)))
			bad += 1
			continue
		if "image_sha256" in meta and sha(os.path.join(TD, meta["image"])) != meta["image_sha256"]:
			print("FAIL %s: fixture %s changed" % (f, meta["image"]))
			bad += 1
			continue
		print("ok   %s (%s)" % (f, m))
	if len(names) < 6:
		print("FAIL: expected 6 model goldens, found %d" % len(names))
		bad += 1
	return 1 if bad else 0


if __name__ == "__main__":
	sys.exit(main())
