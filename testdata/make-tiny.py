#!/usr/bin/python3
"""Writes seeded random DeepSeek-OCR 2 model directories in the published
checkpoint layout (MODEL.md §1.1, §2.2), for tests and benchmarks.

numpy only (no torch), so CI can run it in seconds:

    /usr/bin/python3 testdata/make-tiny.py --out testdata/models
        -> testdata/models/tiny      (bf16, like the published checkpoint)
           testdata/models/tiny-f32  (float32: the same draws as tiny, not rounded)
    /usr/bin/python3 testdata/make-tiny.py --full --out DIR
        -> DIR/full (the published dims: 3,389,119,360 params, 2707 tensors, bf16,
           ~6.8 GB, written streaming, never the whole model in memory)

Each model directory holds config.json, model-00001-of-000001.safetensors,
model.safetensors.index.json, tokenizer.json (copied from testdata/cache/,
made by testdata/fetch.sh) and model.sha256 (sha256 of the safetensors file).

Weights: one numpy.random.default_rng(seed) (PCG64, stable across numpy
versions) draws standard normals (float32, Generator.standard_normal) for
every tensor in SORTED NAME ORDER, numel values each, in chunks of 2^24 (a
chunked draw gives the same stream as one draw). Each tensor is then
mean + std * z in float32, with (mean, std) by kind:
    linear / conv weight      0, 1/sqrt(fan_in)     (fan_in = in * kh * kw)
    linear / conv bias        0, 0.1
    norm weight (RMS/LN/LN2d) 1, 0.1
    LayerNorm bias            0, 0.1
    embed_tokens, query_*, view_seperator   0, 1
    SAM pos_embed             0, 0.5
    SAM rel_pos_h / rel_pos_w 0, 0.2
Tiny models only: after drawing, lm_head.weight += 0.04 * embed_tokens.weight
(a weak tie: greedy decoding then falls into repetition loops that the n-gram
guards must break, so the guard goldens test something). The full model has no
tie. Because lm_head sorts before embed_tokens, the tiny models are drawn whole
in memory first (17 M params); the full model is streamed.
The f32 model stores those float32 values; the bf16 model stores them rounded
to nearest-even bf16. tiny and tiny-f32 share the seed, so tiny-f32 holds the
unrounded version of tiny's weights (their outputs differ slightly).

The safetensors writer is hand-written: 8-byte little-endian header length,
JSON header (padded with spaces to a multiple of 8), then the tensors in
sorted name order, contiguous (every tensor's byte size is a multiple of 8,
so each starts 8-byte aligned; the script asserts it).
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

import numpy as np

SEED_TINY = 20260123
SEED_FULL = 20260124
CHUNK = 1 << 24

# ---------------------------------------------------------------------------
# dimensions

TINY = dict(
	hidden=64, layers=3, heads=4, kv_heads=4, intermediate=128, moe_inter=32,
	n_experts=16, topk=6, n_shared=2, first_k_dense=1, vocab=129280,
	sam_width=32, sam_layers=4, sam_heads=2, sam_global=[1, 3], sam_window=14,
	sam_mlp=64, neck=16, net2=24,
	enc_hidden=32, enc_layers=2, enc_heads=4, enc_kv=2, enc_inter=64,
	enc_theta=1000000.0, enc_eps=1e-6, lm_tie=0.04,
)

FULL = dict(
	hidden=1280, layers=12, heads=10, kv_heads=10, intermediate=6848, moe_inter=896,
	n_experts=64, topk=6, n_shared=2, first_k_dense=1, vocab=129280,
	sam_width=768, sam_layers=12, sam_heads=12, sam_global=[2, 5, 8, 11], sam_window=14,
	sam_mlp=3072, neck=256, net2=512,
	enc_hidden=896, enc_layers=24, enc_heads=14, enc_kv=2, enc_inter=4864,
	enc_theta=1000000.0, enc_eps=1e-6, lm_tie=0.0,
)

POS_GRID = 64     # 1024 / 16: the pos_embed grid and the global-block rel-pos size
N_QUERY_768 = 144
N_QUERY_1024 = 256


def tensor_list(d):
	"""[(name, shape, kind, fan_in)] in the published layout (MODEL.md §2.2)."""
	t = []

	def lin(name, out, inp, bias):
		t.append((name + ".weight", (out, inp), "w", inp))
		if bias:
			t.append((name + ".bias", (out,), "b", 0))

	def norm(name, n, bias=False):
		t.append((name + ".weight", (n,), "n", 0))
		if bias:
			t.append((name + ".bias", (n,), "b", 0))

	# SAM
	W, hd = d["sam_width"], d["sam_width"] // d["sam_heads"]
	s = "model.sam_model."
	t.append((s + "patch_embed.proj.weight", (W, 3, 16, 16), "w", 3 * 16 * 16))
	t.append((s + "patch_embed.proj.bias", (W,), "b", 0))
	t.append((s + "pos_embed", (1, POS_GRID, POS_GRID, W), "pos", 0))
	for i in range(d["sam_layers"]):
		b = s + "blocks.%d." % i
		norm(b + "norm1", W, True)
		norm(b + "norm2", W, True)
		lin(b + "attn.qkv", 3 * W, W, True)
		lin(b + "attn.proj", W, W, True)
		r = 2 * POS_GRID - 1 if i in d["sam_global"] else 2 * d["sam_window"] - 1
		t.append((b + "attn.rel_pos_h", (r, hd), "rel", 0))
		t.append((b + "attn.rel_pos_w", (r, hd), "rel", 0))
		lin(b + "mlp.lin1", d["sam_mlp"], W, True)
		lin(b + "mlp.lin2", W, d["sam_mlp"], True)
	N = d["neck"]
	t.append((s + "neck.0.weight", (N, W, 1, 1), "w", W))
	norm(s + "neck.1", N, True)
	t.append((s + "neck.2.weight", (N, N, 3, 3), "w", N * 9))
	norm(s + "neck.3", N, True)
	t.append((s + "net_2.weight", (d["net2"], N, 3, 3), "w", N * 9))
	E = d["enc_hidden"]
	t.append((s + "net_3.weight", (E, d["net2"], 3, 3), "w", d["net2"] * 9))
	# flow encoder
	q = "model.qwen2_model."
	ehd = E // d["enc_heads"]
	for i in range(d["enc_layers"]):
		b = q + "model.model.layers.%d." % i
		lin(b + "self_attn.q_proj", E, E, True)
		lin(b + "self_attn.k_proj", d["enc_kv"] * ehd, E, True)
		lin(b + "self_attn.v_proj", d["enc_kv"] * ehd, E, True)
		lin(b + "self_attn.o_proj", E, E, False)
		lin(b + "mlp.gate_proj", d["enc_inter"], E, False)
		lin(b + "mlp.up_proj", d["enc_inter"], E, False)
		lin(b + "mlp.down_proj", E, d["enc_inter"], False)
		norm(b + "input_layernorm", E)
		norm(b + "post_attention_layernorm", E)
	norm(q + "model.model.norm", E)
	t.append((q + "query_768.weight", (N_QUERY_768, E), "emb", 0))
	t.append((q + "query_1024.weight", (N_QUERY_1024, E), "emb", 0))
	# projector, separator
	H = d["hidden"]
	lin("model.projector.layers", H, E, True)
	t.append(("model.view_seperator", (H,), "emb", 0))
	# language model
	t.append(("model.embed_tokens.weight", (d["vocab"], H), "emb", 0))
	for i in range(d["layers"]):
		b = "model.layers.%d." % i
		for p in "qkvo":
			lin(b + "self_attn.%s_proj" % p, H, H, False)
		norm(b + "input_layernorm", H)
		norm(b + "post_attention_layernorm", H)
		if i < d["first_k_dense"]:
			lin(b + "mlp.gate_proj", d["intermediate"], H, False)
			lin(b + "mlp.up_proj", d["intermediate"], H, False)
			lin(b + "mlp.down_proj", H, d["intermediate"], False)
		else:
			lin(b + "mlp.gate", d["n_experts"], H, False)
			si = d["moe_inter"] * d["n_shared"]
			lin(b + "mlp.shared_experts.gate_proj", si, H, False)
			lin(b + "mlp.shared_experts.up_proj", si, H, False)
			lin(b + "mlp.shared_experts.down_proj", H, si, False)
			for e in range(d["n_experts"]):
				lin(b + "mlp.experts.%d.gate_proj" % e, d["moe_inter"], H, False)
				lin(b + "mlp.experts.%d.up_proj" % e, d["moe_inter"], H, False)
				lin(b + "mlp.experts.%d.down_proj" % e, H, d["moe_inter"], False)
	norm("model.norm", H)
	lin("lm_head", d["vocab"], H, False)
	t.sort(key=lambda x: x[0])
	names = [x[0] for x in t]
	assert len(set(names)) == len(names)
	return t


def init_params(kind, fan_in):
	if kind == "w":
		return 0.0, 1.0 / np.sqrt(fan_in)
	if kind == "b":
		return 0.0, 0.1
	if kind == "n":
		return 1.0, 0.1
	if kind == "emb":
		return 0.0, 1.0
	if kind == "pos":
		return 0.0, 0.5
	if kind == "rel":
		return 0.0, 0.2
	raise ValueError(kind)


def config_json(d, dtype):
	lm = {
		"architectures": ["DeepseekV2ForCausalLM"],
		"auto_map": {
			"AutoConfig": "configuration_deepseekv2.DeepseekV2Config",
			"AutoModel": "modeling_deepseek.DeepseekV2Model",
			"AutoModelForCausalLM": "modeling_deepseek.DeepseekV2ForCausalLM",
		},
		"bos_token_id": 0,
		"eos_token_id": 1,
		"first_k_dense_replace": d["first_k_dense"],
		"hidden_size": d["hidden"],
		"intermediate_size": d["intermediate"],
		"kv_lora_rank": None,
		"lm_head": True,
		"max_position_embeddings": 8192,
		"moe_intermediate_size": d["moe_inter"],
		"n_group": 1,
		"n_routed_experts": d["n_experts"],
		"n_shared_experts": d["n_shared"],
		"num_attention_heads": d["heads"],
		"num_experts_per_tok": d["topk"],
		"num_hidden_layers": d["layers"],
		"num_key_value_heads": d["kv_heads"],
		"q_lora_rank": None,
		"qk_nope_head_dim": 0,
		"qk_rope_head_dim": 0,
		"rm_head": False,
		"topk_group": 1,
		"topk_method": "greedy",
		"torch_dtype": dtype,
		"use_mla": False,
		"v_head_dim": 0,
		"vocab_size": d["vocab"],
	}
	sam = {
		"downsample_channels": [d["net2"], 1024],  # [1]=1024 is stale in the published file too
		"global_attn_indexes": list(d["sam_global"]),
		"heads": d["sam_heads"],
		"layers": d["sam_layers"],
		"width": d["sam_width"],
	}
	enc = {"dim": d["enc_hidden"]}
	if d is not FULL:  # ocr2's optional fields (MODEL.md §0.1); the full model keeps the published file
		sam.update({"mlp_dim": d["sam_mlp"], "window_size": d["sam_window"], "neck_channels": d["neck"]})
		enc.update({
			"layers": d["enc_layers"], "heads": d["enc_heads"], "kv_heads": d["enc_kv"],
			"intermediate_size": d["enc_inter"], "rope_theta": d["enc_theta"],
			"rms_norm_eps": d["enc_eps"],
		})
	c = {
		"_name_or_path": "ocr2-testdata/%s" % ("full" if d is FULL else "tiny"),
		"candidate_resolutions": [[1024, 1024]],
		"global_view_pos": "head",
		"architectures": ["DeepseekOCR2ForCausalLM"],
		"auto_map": {
			"AutoConfig": "modeling_deepseekocr2.DeepseekOCR2Config",
			"AutoModel": "modeling_deepseekocr2.DeepseekOCR2ForCausalLM",
		},
		"language_config": lm,
		"model_type": "deepseek_vl_v2",
		"projector_config": {
			"input_dim": d["enc_hidden"],
			"model_type": "mlp_projector",
			"n_embed": d["hidden"],
			"projector_type": "linear",
		},
		"tile_tag": "2D",
		"torch_dtype": dtype,
		"transformers_version": "4.46.3",
		"vision_config": {
			"image_size": 1024,
			"mlp_ratio": 3.7362,
			"model_name": "deepencoderv2",
			"model_type": "vision",
			"width": {"qwen2-0-5b": enc, "sam_vit_b": sam},
		},
	}
	for k, v in lm.items():
		if k not in ("architectures", "auto_map", "torch_dtype"):
			c[k] = v
	return c


def draw(rng, n):
	"""n standard normals (float32), drawn in chunks of CHUNK (same stream as one draw)."""
	parts, done = [], 0
	while done < n:
		m = min(CHUNK, n - done)
		parts.append(rng.standard_normal(m, dtype=np.float32))
		done += m
	return np.concatenate(parts) if len(parts) > 1 else parts[0]


def to_bf16_bytes(a):
	"""float32 array -> bf16 bytes, round to nearest even (no NaNs here)."""
	u = a.view(np.uint32).astype(np.uint64)
	r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
	return r.tobytes()


def write_model(outdir, d, dtype, seed):
	"""Writes outdir/{model-00001-of-000001.safetensors, index, config, model.sha256}."""
	os.makedirs(outdir, exist_ok=True)
	tl = tensor_list(d)
	esz = 2 if dtype == "bfloat16" else 4
	st = "BF16" if dtype == "bfloat16" else "F32"
	header, off, total = {}, 0, 0
	for name, shape, _, _ in tl:
		n = int(np.prod(shape))
		nb = n * esz
		assert nb % 8 == 0, name
		header[name] = {"dtype": st, "shape": list(shape), "data_offsets": [off, off + nb]}
		off += nb
		total += n
	header["__metadata__"] = {"format": "pt"}
	hj = json.dumps(header, separators=(",", ":")).encode()
	hj += b" " * ((8 - (8 + len(hj)) % 8) % 8)
	fname = "model-00001-of-000001.safetensors"
	path = os.path.join(outdir, fname)
	rng = np.random.default_rng(seed)
	tie = d["lm_tie"]
	pre = {}
	if tie:  # lm_head (drawn first) needs embed_tokens (drawn later): draw everything up front
		for name, shape, kind, fan_in in tl:
			mean, std = init_params(kind, fan_in)
			z = draw(rng, int(np.prod(shape)))
			pre[name] = (np.float32(mean) + np.float32(std) * z).astype(np.float32)
		pre["lm_head.weight"] = (pre["lm_head.weight"] +
					 np.float32(tie) * pre["model.embed_tokens.weight"]).astype(np.float32)
	h = hashlib.sha256()
	with open(path + ".tmp", "wb") as f:
		def put(b):
			f.write(b)
			h.update(b)
		put(len(hj).to_bytes(8, "little"))
		put(hj)
		for name, shape, kind, fan_in in tl:
			n = int(np.prod(shape))
			mean, std = init_params(kind, fan_in)
			if pre:
				v = pre.pop(name)
				put(to_bf16_bytes(v) if esz == 2 else v.tobytes())
				continue
			done = 0
			while done < n:
				m = min(CHUNK, n - done)
				z = rng.standard_normal(m, dtype=np.float32)
				v = (np.float32(mean) + np.float32(std) * z).astype(np.float32)
				put(to_bf16_bytes(v) if esz == 2 else v.tobytes())
				done += m
	os.replace(path + ".tmp", path)
	idx = {"metadata": {"total_size": off},
	       "weight_map": {name: fname for name, _, _, _ in tl}}
	with open(os.path.join(outdir, "model.safetensors.index.json"), "w") as f:
		json.dump(idx, f, indent=2, sort_keys=True)
		f.write("\n")
	with open(os.path.join(outdir, "config.json"), "w") as f:
		json.dump(config_json(d, dtype), f, indent=2)
		f.write("\n")
	digest = h.hexdigest()
	with open(os.path.join(outdir, "model.sha256"), "w") as f:
		f.write("%s  %s\n" % (digest, fname))
	return total, len(tl), digest


def main():
	ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	ap.add_argument("--out", required=True, help="directory that receives the model dirs")
	ap.add_argument("--full", action="store_true", help="write OUT/full (published dims, ~6.8 GB)")
	ap.add_argument("--dtype", choices=["bf16", "f32", "both"], default="both",
			help="tiny models to write (default both: tiny = bf16, tiny-f32)")
	ap.add_argument("--tokenizer", default=None,
			help="tokenizer.json to copy (default testdata/cache/tokenizer.json)")
	ap.add_argument("--force", action="store_true", help="rewrite even if up to date")
	a = ap.parse_args()
	here = os.path.dirname(os.path.abspath(__file__))
	tok = a.tokenizer or os.path.join(here, "cache", "tokenizer.json")
	with open(os.path.abspath(__file__), "rb") as f:
		me = hashlib.sha256(f.read()).hexdigest()
	jobs = []
	if a.full:
		jobs.append(("full", FULL, "bfloat16", SEED_FULL))
	else:
		if a.dtype in ("bf16", "both"):
			jobs.append(("tiny", TINY, "bfloat16", SEED_TINY))
		if a.dtype in ("f32", "both"):
			jobs.append(("tiny-f32", TINY, "float32", SEED_TINY))
	for name, d, dtype, seed in jobs:
		outdir = os.path.join(a.out, name)
		stamp = os.path.join(outdir, ".stamp")
		want = "%s %s %s %d\n" % (me, name, dtype, seed)
		ok = (not a.force and os.path.exists(stamp) and open(stamp).read() == want and
		      os.path.exists(os.path.join(outdir, "model-00001-of-000001.safetensors")))
		if not ok:
			if os.path.exists(stamp):
				os.remove(stamp)
			n, nt, digest = write_model(outdir, d, dtype, seed)
			with open(stamp, "w") as f:
				f.write(want)
			print("make-tiny: %s: %d tensors, %d params, %s, sha256 %s" % (outdir, nt, n, dtype, digest))
		if os.path.exists(tok):
			dst = os.path.join(outdir, "tokenizer.json")
			if not os.path.exists(dst) or os.path.getmtime(dst) < os.path.getmtime(tok):
				shutil.copyfile(tok, dst)
		else:
			print("make-tiny: warning: %s missing (run testdata/fetch.sh); %s has no tokenizer.json"
			      % (tok, outdir), file=sys.stderr)
	return 0


if __name__ == "__main__":
	sys.exit(main())
