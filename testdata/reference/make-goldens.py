#!/usr/bin/python3
"""Regenerates testdata/golden/ from testdata/reference/reference.py (PyTorch, float32, CPU).

    /usr/bin/python3 testdata/make-tiny.py --out testdata/models
    /usr/bin/python3 testdata/reference/make-goldens.py [--part decoder|encoder|pillow|all]

Reads testdata/models/{tiny,tiny-f32} and testdata/images/*.png; writes
testdata/golden/*.safetensors (+ JSON for the Pillow/grid vectors). See
testdata/README.md for what each file holds and the tolerances.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference as R  # noqa: E402

TD = os.path.dirname(HERE)
GOLD = os.path.join(TD, "golden")
MODELS = ("tiny", "tiny-f32")
N_FAKE_IMG = 257
FAKE_SEED = 1234
SUBSET_SEED = 4321
STEPS = 40
GUARDS = [  # (golden name, guard)
	("greedy_off", None),
	("greedy_vllm_20_50", ("vllm", 20, 50)),
	("greedy_vllm_3_50", ("vllm", 3, 50)),
	("greedy_vllm_2_90", ("vllm", 2, 90)),
	("greedy_hf_20", ("hf", 20)),
	("greedy_hf_3", ("hf", 3)),
]


def sha256_file(p):
	h = hashlib.sha256()
	with open(p, "rb") as f:
		for b in iter(lambda: f.read(1 << 20), b""):
			h.update(b)
	return h.hexdigest()


def model_meta(mdir):
	st = os.path.join(mdir, "model-00001-of-000001.safetensors")
	return {"model": os.path.basename(mdir), "model_sha256": sha256_file(st),
		"torch": torch.__version__, "numpy": np.__version__}


def logit_sample(v, subset):
	"""top-1000 (indices sorted by value, descending) and values at a fixed index subset."""
	top = torch.topk(v, 1000)
	return (top.indices.numpy().astype(np.int32), top.values.numpy().astype(np.float32),
		v[torch.as_tensor(subset, dtype=torch.long)].numpy().astype(np.float32))


def ids32(x):
	return np.asarray(x, dtype=np.int32)


def decoder_goldens(name):
	mdir = os.path.join(TD, "models", name)
	cfg, W = R.load_model(mdir)
	dec = R.Decoder(W, cfg)
	meta = model_meta(mdir)
	out = {}
	subset = np.sort(np.random.default_rng(SUBSET_SEED).choice(cfg.vocab, 1000, replace=False)).astype(np.int32)
	out["logit_subset_ids"] = subset
	img = np.random.default_rng(FAKE_SEED).standard_normal((N_FAKE_IMG, cfg.hidden), dtype=np.float32)
	out["image_embeds"] = img
	ids = R.image_prompt_ids(N_FAKE_IMG)
	out["prompt_ids"] = ids32(ids)
	imgt = torch.from_numpy(img)
	with torch.no_grad():
		# prefill with per-layer hidden states at the last position
		hid = []
		cache = dec.new_cache()
		logits = dec.forward(dec.embed(ids, imgt), 0, cache, hiddens=hid)
		out["prefill_logits"] = logits[-1].numpy()
		out["prefill_hidden_last"] = torch.stack([h[-1] for h in hid]).numpy()   # [layers+1, H], before final norm
		out["prefill_logits_pos0"] = logits[0].numpy()[subset]
		for gname, guard in GUARDS:
			gen, kept, changed, margins = R.generate(dec, ids, imgt, STEPS, guard, keep_logits=4)
			out[gname] = ids32(gen)
			out[gname + "_margin"] = np.asarray(margins, dtype=np.float32)
			meta[gname + "_guard_changed"] = json.dumps(changed)
			if guard is None:
				for s in range(1, 5):
					ti, tv, sv = logit_sample(kept[s], subset)
					out["step%d_top_ids" % s], out["step%d_top_logits" % s] = ti, tv
					out["step%d_subset_logits" % s] = sv
				off = gen
			assert torch.equal(kept[0], logits[-1])
		# KV-cache decode vs full recompute (tolerance statement for README)
		seq = ids + off[:4]
		full = dec.forward(dec.embed(seq, imgt), 0, dec.new_cache())
		_, kept, _, _ = R.generate(dec, ids, imgt, 5, None, keep_logits=4)
		d = max((full[len(ids) - 1 + s] - kept[s]).abs().max().item() for s in range(5))
		meta["cache_vs_recompute_maxabs"] = "%.3g" % d
		# a prompt without image tokens
		tids = [R.BOS] + R.DOC_PROMPT
		out["text_prompt_ids"] = ids32(tids)
		hid = []
		tl = dec.forward(dec.embed(tids), 0, dec.new_cache(), hiddens=hid)
		out["text_hidden"] = torch.stack(hid).numpy()                           # [layers+1, L, H]
		out["text_logits_last"] = tl[-1].numpy()[subset]
		ti, tv, _ = logit_sample(tl[-1], subset)
		out["text_top_ids"], out["text_top_logits"] = ti, tv
		gen, _, changed, margins = R.generate(dec, tids, None, STEPS, None)
		out["text_greedy_off"] = ids32(gen)
		out["text_greedy_off_margin"] = np.asarray(margins, dtype=np.float32)
		gen, _, changed, margins = R.generate(dec, tids, None, STEPS, ("vllm", 3, 50))
		out["text_greedy_vllm_3_50"] = ids32(gen)
		out["text_greedy_vllm_3_50_margin"] = np.asarray(margins, dtype=np.float32)
		meta["text_greedy_vllm_3_50_guard_changed"] = json.dumps(changed)
	meta["contents"] = ("decoder goldens: prompt [0]+[128815]*257+DOC_PROMPT with seeded image_embeds; "
			    "prefill_logits = full vocab at the last position; stepN_* = logits after feeding "
			    "greedy token N (guard off); greedy_* = %d greedy steps" % STEPS)
	meta["guards"] = json.dumps({g: s for g, s in GUARDS})
	path = os.path.join(GOLD, "decoder-%s.safetensors" % name)
	R.save_safetensors(path, out, meta)
	print("%s: %d bytes; cache vs recompute %s" % (path, os.path.getsize(path), meta["cache_vs_recompute_maxabs"]))
	for g, _ in GUARDS:
		print("  %-20s %s  changed=%s min margin %.3g" % (g, list(out[g]), meta[g + "_guard_changed"][:60],
								  out[g + "_margin"].min()))
	print("  text_greedy_off      %s min margin %.3g" % (list(out["text_greedy_off"]), out["text_greedy_off_margin"].min()))
	print("  text_greedy_vllm_3_50 %s" % list(out["text_greedy_vllm_3_50"]))


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--part", default="all", choices=["decoder", "encoder", "pillow", "all"])
	ap.add_argument("--models", default=",".join(MODELS))
	a = ap.parse_args()
	torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
	os.makedirs(GOLD, exist_ok=True)
	for m in a.models.split(","):
		if a.part in ("decoder", "all"):
			decoder_goldens(m)
		if a.part in ("encoder", "all"):
			encoder_goldens(m)
	if a.part in ("pillow", "all"):
		pillow_goldens()


if __name__ == "__main__":
	main()
