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


IMAGES = [  # (golden name, fixture) -- see testdata/README.md for how the PNGs were made
	("bzip2-p1", "images/bzip2-p1-72dpi.png"),   # 612x792: grid (2,3), 6 crops
	("crc-p1", "images/crc-p1-60dpi.png"),       # 510x660: no crops
]
TRACE_ROWS = 2  # SAM trace: the first 2 token rows of the patch grid


def make_color_fixture(path):
	"""testdata/images/color-97x61.png: seeded RGB gradient + noise + two bars (Pillow tests)."""
	from PIL import Image
	rng = np.random.default_rng(97061)
	h, w = 61, 97
	y, x = np.mgrid[0:h, 0:w]
	a = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x * y) % 256], -1).astype(np.int32)
	a = np.clip(a + rng.integers(-40, 41, size=a.shape), 0, 255).astype(np.uint8)
	a[20:30, 30:60] = [255, 0, 0]
	a[40:45, :] = [0, 0, 0]
	Image.fromarray(a, "RGB").save(path)


def u8sha(pil):
	return hashlib.sha256(np.asarray(pil, dtype=np.uint8).tobytes()).hexdigest()


def encoder_goldens(name):
	mdir = os.path.join(TD, "models", name)
	cfg, W = R.load_model(mdir)
	enc = R.Encoder(W, cfg)
	dec = R.Decoder(W, cfg)
	for gname, rel in IMAGES:
		meta = model_meta(mdir)
		path = os.path.join(TD, rel)
		meta["image"] = rel
		meta["image_sha256"] = sha256_file(path)
		im = R.load_image(path)
		views = R.preprocess(im)
		out = {}
		k = len(views["crops"])
		out["grid"] = ids32(views["grid"] if views["grid"] else (0, 0))
		meta["global_view_u8_sha256"] = u8sha(views["global"])
		meta["crop_views_u8_sha256"] = json.dumps([u8sha(c) for c in views["crops"]])
		st = {}
		with torch.no_grad():
			seq = enc.encode(views, st)
			gv = st["views"][-1]
			out["global_view_rowsum"] = gv.sum(2).numpy()                  # [3, 1024]
			out["global_view_sample"] = gv[:, ::37, ::37].contiguous().numpy()
			if k:
				out["crop_views_rowsum"] = torch.stack([v.sum(2) for v in st["views"][:k]]).numpy()
			# SAM traces (patch+pos, after each block, after the neck) on the first token rows
			for tag, v in (("global", st["views"][-1]),) + ((("crop0", st["views"][0]),) if k else ()):
				tr = []
				enc.sam(v, trace=tr)
				out["sam_trace_%s" % tag] = torch.stack([t[:TRACE_ROWS].reshape(-1, t.shape[-1])
									 for t in tr[:-1]]).numpy()
				out["sam_neck_%s" % tag] = tr[-1][:TRACE_ROWS].reshape(-1, tr[-1].shape[-1]).numpy()
			# flow encoder trace (global view): rows 0-3 (visual), N..N+3 and 2N-4..2N-1 (queries),
			# the input then after each layer (before the final norm)
			tr = []
			N = st["sam"][-1].shape[0]
			enc.flow_all(st["sam"][-1], trace=tr)
			rows = list(range(4)) + list(range(N, N + 4)) + list(range(2 * N - 4, 2 * N))
			out["flow_trace_global_rows"] = ids32(rows)
			out["flow_trace_global"] = torch.stack([t[rows] for t in tr]).numpy()
			# resized position tables (the 768 view): pos_embed 64->48 bicubic antialias (every 5th
			# row/column) and the first global block's rel-pos 127->95 linear
			pe = enc.pos_embed(48)
			out["pos_embed_48_sample"] = pe[::5, ::5].contiguous().numpy()
			gb = "model.sam_model.blocks.%d.attn." % cfg.sam_global[0]
			out["rel_pos_h_95"] = R.resize_rel_pos(W[gb + "rel_pos_h"], 95).contiguous().numpy()
			out["rel_pos_w_95"] = R.resize_rel_pos(W[gb + "rel_pos_w"], 95).contiguous().numpy()
			out["sam_global"] = st["sam"][-1].numpy()
			out["flow_global"] = st["flow"][-1].numpy()
			if k:
				out["sam_crops"] = torch.stack(st["sam"][:k]).numpy()
				out["flow_crops"] = torch.stack(st["flow"][:k]).numpy()
			out["image_embeds"] = seq.numpy()
			ids = R.image_prompt_ids(seq.shape[0])
			out["prompt_ids"] = ids32(ids)
			gen, kept, _, margins = R.generate(dec, ids, seq, STEPS, None)
			out["greedy_off"] = ids32(gen)
			out["greedy_off_margin"] = np.asarray(margins, dtype=np.float32)
			out["prefill_top_ids"], out["prefill_top_logits"], _ = logit_sample(kept[0], [0])
		assert enc.checked_mask
		meta["mask_check"] = "passed: visual rows independent of queries, queries causal, visual bidirectional"
		meta["contents"] = ("encoder goldens for %s: grid (cols, rows; 0,0 = no crops); views as rowsums/"
				    "samples + u8 sha256; SAM trace rows 0..%d after patch+pos and each block; SAM/flow "
				    "per view; image_embeds = [crops..., global, view_seperator]; greedy_off = %d steps "
				    "with the document prompt, guard off" % (rel, TRACE_ROWS - 1, STEPS))
		gp = os.path.join(GOLD, "encoder-%s-%s.safetensors" % (gname, name))
		R.save_safetensors(gp, out, meta)
		print("%s: %d bytes grid %s k=%d seq %s min margin %.3g\n  greedy %s" % (
			gp, os.path.getsize(gp), views["grid"], k, tuple(seq.shape), min(margins), gen))


def pillow_goldens():
	"""Pillow BICUBIC resize vectors and crop-grid choices (JSON)."""
	from PIL import Image, ImageOps
	import PIL
	cpath = os.path.join(TD, "images", "color-97x61.png")
	if not os.path.exists(cpath):
		make_color_fixture(cpath)
	cases = {
		"images/color-97x61.png": [(97, 61), (194, 122), (1024, 645), (50, 31), (13, 7), (1, 1), (97, 200),
					   (300, 61), (768, 768), (33, 99), (2, 1000)],
		"images/bzip2-p1-72dpi.png": [(1536, 2304), (791, 1024), (306, 396), (1023, 17), (613, 793), (612, 395)],
		"images/crc-p1-60dpi.png": [(791, 1024), (255, 330), (1536, 768), (509, 661)],
	}
	vec = []
	for rel, sizes in cases.items():
		im = R.load_image(os.path.join(TD, rel))
		for w, h in sizes:
			r = im.resize((w, h), Image.BICUBIC)
			vec.append({"input": rel, "width": w, "height": h, "sha256": u8sha(r)})
		p = ImageOps.pad(im, (1024, 1024), method=Image.BICUBIC, color=(127, 127, 127))
		vec.append({"input": rel, "op": "pad1024", "width": 1024, "height": 1024, "sha256": u8sha(p)})
	res = {"pillow": PIL.__version__,
	       "about": "sha256 of Pillow's RGB uint8 output (H*W*3 bytes, row-major) of "
			"Image.resize((width, height), BICUBIC) on the fixture after exif_transpose+convert('RGB'); "
			"op pad1024 = ImageOps.pad(im, (1024,1024), BICUBIC, color=(127,127,127))",
	       "vectors": vec}
	with open(os.path.join(GOLD, "pillow-resize.json"), "w") as f:
		json.dump(res, f, indent=1)
		f.write("\n")
	# grid choices: MODEL.md §3.2 table, edges, and seeded random sizes
	sizes = [(768, 768), (800, 800), (1191, 1684), (1920, 1080), (3000, 1000), (1536, 1024), (769, 500),
		 (768, 769), (769, 768), (1, 769), (769, 1), (1536, 768), (768, 1536), (2304, 768), (1000, 1000),
		 (612, 792), (510, 660), (1224, 1584), (1700, 2200), (2480, 3508), (4000, 100), (100, 4000)]
	rng = np.random.default_rng(3232)
	for _ in range(300):
		sizes.append((int(rng.integers(1, 5000)), int(rng.integers(1, 5000))))
	for _ in range(100):  # near-tie aspect ratios
		c, r = [int(v) for v in rng.integers(1, 7, size=2)]
		m = int(rng.integers(100, 1200))
		sizes.append((c * m, r * m))
	grids = []
	for w, h in sizes:
		g = R.choose_grid(w, h)
		grids.append([w, h, g[0] if g else 0, g[1] if g else 0])
	res = {"about": "[width, height, cols, rows] chosen by the official algorithm (cols=rows=0: no crops, "
			"both sides <= 768); candidate order (CPython set, sorted by cols*rows) in 'candidates'",
	       "candidates": R.crop_candidates(), "grids": grids}
	with open(os.path.join(GOLD, "grids.json"), "w") as f:
		json.dump(res, f, separators=(",", ":"))
		f.write("\n")
	print("pillow-resize.json: %d vectors; grids.json: %d sizes" % (len(vec), len(grids)))


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
