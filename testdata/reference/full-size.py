#!/usr/bin/env python3
"""Full-size check data: runs reference.py (float32) on a full-size random
checkpoint (testdata/make-tiny.py --full, same seed everywhere) for one page
image and writes what ocr2 --dump must reproduce:

    features [n, hidden]   the projected image embeddings in prompt order
    logits0  [vocab]       logits at the last prompt position
    logits1..3             logits after the first greedy steps
    ids      [steps]       greedy ids, n-gram guard off

Run where there is memory for the f32 model (~14 GB), e.g. the GPU machine:

    python3 testdata/make-tiny.py --full --out m
    python3 testdata/reference/full-size.py --model m/full \
        --image testdata/images/bzip2-p1-72dpi.png --out full-bzip2-p1.safetensors --device cuda

ocr2's side: tests/bench/full-size-check.sh compares an `ocr2 scan --dump` of the same page
with this file (not in CI: the checkpoint is 6.8 GB).
"""
import argparse
import hashlib
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference as R  # noqa: E402


def sha256(path):
	h = hashlib.sha256()
	with open(path, "rb") as f:
		for b in iter(lambda: f.read(1 << 24), b""):
			h.update(b)
	return h.hexdigest()


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--model", required=True)
	ap.add_argument("--image", required=True)
	ap.add_argument("--out", required=True)
	ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
	ap.add_argument("--steps", type=int, default=16)
	a = ap.parse_args()
	torch.backends.cuda.matmul.allow_tf32 = False
	torch.backends.cudnn.allow_tf32 = False
	t0 = time.time()
	cfg, W = R.load_model(a.model, a.device)
	t1 = time.time()
	enc, dec = R.Encoder(W, cfg), R.Decoder(W, cfg)
	views = R.preprocess(R.load_image(a.image))
	with torch.no_grad():
		seq = enc.encode(views)
		t2 = time.time()
		ids = R.image_prompt_ids(seq.shape[0])
		gen, kept, _, _ = R.generate(dec, ids, seq, steps=a.steps, guard=None, keep_logits=3)
	t3 = time.time()
	out = {"features": seq.float().cpu().numpy(),
	       "ids": torch.tensor(gen, dtype=torch.int32).numpy()}
	for i, l in enumerate(kept[:4]):
		out["logits%d" % i] = l.float().cpu().numpy()
	msha = ""
	shafile = os.path.join(a.model, "model.sha256")
	if os.path.exists(shafile):
		msha = open(shafile).read().split()[0]
	meta = {"model_sha256": msha, "image": os.path.basename(a.image),
		"image_sha256": sha256(a.image), "grid": str(views["grid"]),
		"prompt_tokens": str(len(ids)), "device": a.device,
		"seconds_load": "%.1f" % (t1 - t0), "seconds_encode": "%.1f" % (t2 - t1),
		"seconds_generate": "%.1f" % (t3 - t2)}
	R.save_safetensors(a.out, out, meta)
	print("full-size: %d image rows, %d prompt tokens, ids %s" % (seq.shape[0], len(ids), gen))
	print("full-size: load %.1fs encode %.1fs generate %.1fs" % (t1 - t0, t2 - t1, t3 - t2))


if __name__ == "__main__":
	main()
