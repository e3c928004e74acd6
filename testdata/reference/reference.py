#!/usr/bin/python3
"""An executable float32 reference for DeepSeek-OCR 2, written as plain torch ops
from the official math (MODEL.md §3–§8 and the official vLLM/HF code). It is
ocr2's own code: no official Python is imported or copied.

Runs on CPU with torch >= 1.13 (Debian's python3-torch) and on the GPU machine
(torch 2.x). Every computation is float32 on the stored weights (bf16 weights are
upcast exactly), which is ocr2's correctness target (MODEL.md §0.1).

Pieces:
  load_safetensors(path)       -> {name: float32 tensor} (own parser, no safetensors pkg)
  Config(model_dir)            -> dims from config.json (ocr2's optional fields, defaults = published)
  Decoder                      -> embeddings + image splice, MHA + rotate_half RoPE, dense/MoE, lm_head,
                                  KV-cache steps, greedy generation with the n-gram guards of §8
  preprocess(image)            -> Pillow views exactly as the official processor makes them
  Encoder                      -> SAM ViT-B (+neck, net_2, net_3), flow encoder with the explicit
                                  hybrid mask (§4.2), projector, assembly (§4.4)
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

import st

IMAGE_TOKEN = 128815
BOS, EOS = 0, 1
DOC_PROMPT = [201, 128820, 21842, 270, 4940, 304, 2121, 7919, 16]   # "\n<|grounding|>Convert the document to markdown."
FREE_PROMPT = [201, 21431, 126041, 16]                                # "\nFree OCR."
TD_WHITELIST = (128821, 128822)                                       # <td>, </td>
BASE_SIZE, TILE_SIZE, PATCH = 1024, 768, 16
MIN_CROPS, MAX_CROPS = 2, 6

# ---------------------------------------------------------------------------
# safetensors


def load_safetensors(path):
	"""{name: float32 torch tensor} (st.load, numpy, wrapped)."""
	return {k: torch.from_numpy(v) for k, v in st.load(path).items()}


def save_safetensors(path, tensors, metadata=None):
	"""tensors: {name: numpy array (float32 -> F32, int32 -> I32)}; sorted, contiguous."""
	header, blobs, off = {}, [], 0
	for name in sorted(tensors):
		a = np.ascontiguousarray(tensors[name])
		if a.dtype == np.float32:
			dt = "F32"
		elif a.dtype == np.int32:
			dt = "I32"
		else:
			raise ValueError("%s: dtype %s" % (name, a.dtype))
		b = a.astype(a.dtype.newbyteorder("<")).tobytes()
		header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
		blobs.append(b)
		off += len(b)
	if metadata:
		header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
	hj = json.dumps(header, separators=(",", ":")).encode()
	hj += b" " * ((8 - (8 + len(hj)) % 8) % 8)
	with open(path + ".tmp", "wb") as f:
		f.write(struct.pack("<Q", len(hj)))
		f.write(hj)
		for b in blobs:
			f.write(b)
	os.replace(path + ".tmp", path)


def load_goldens(path):
	with open(path, "rb") as f:
		(n,) = struct.unpack("<Q", f.read(8))
		meta = json.loads(f.read(n)).get("__metadata__", {})
	return load_safetensors(path), meta

# ---------------------------------------------------------------------------
# config


class Config:
	def __init__(self, model_dir):
		with open(os.path.join(model_dir, "config.json")) as f:
			c = json.load(f)
		lm = c.get("language_config", c)
		g = lambda k, d=None: c.get(k, lm.get(k, d))
		self.hidden = g("hidden_size")
		self.layers = g("num_hidden_layers")
		self.heads = g("num_attention_heads")
		self.kv_heads = g("num_key_value_heads", self.heads)
		self.head_dim = self.hidden // self.heads
		self.intermediate = g("intermediate_size")
		self.moe_inter = g("moe_intermediate_size")
		self.n_experts = g("n_routed_experts")
		self.topk = g("num_experts_per_tok")
		self.n_shared = g("n_shared_experts")
		self.first_k_dense = g("first_k_dense_replace")
		self.vocab = g("vocab_size")
		self.rope_theta = float(g("rope_theta", 10000.0))
		self.rms_eps = float(g("rms_norm_eps", 1e-6))
		self.norm_topk = bool(g("norm_topk_prob", False))
		self.routed_scale = float(g("routed_scaling_factor", 1.0))
		w = c["vision_config"]["width"]
		s = w["sam_vit_b"]
		self.sam_width = s.get("width", 768)
		self.sam_layers = s.get("layers", 12)
		self.sam_heads = s.get("heads", 12)
		self.sam_global = list(s.get("global_attn_indexes", [2, 5, 8, 11]))
		self.sam_mlp = s.get("mlp_dim", 4 * self.sam_width)
		self.sam_window = s.get("window_size", 14)
		self.sam_neck = s.get("neck_channels", 256)
		self.sam_net2 = s.get("downsample_channels", [512])[0]
		q = w["qwen2-0-5b"]
		self.enc_hidden = q.get("dim", 896)
		self.enc_layers = q.get("layers", 24)
		self.enc_heads = q.get("heads", 14)
		self.enc_kv = q.get("kv_heads", 2)
		self.enc_inter = q.get("intermediate_size", 4864)
		self.enc_theta = float(q.get("rope_theta", 1000000.0))
		self.enc_eps = float(q.get("rms_norm_eps", 1e-6))

# ---------------------------------------------------------------------------
# shared pieces


def rms_norm(x, w, eps):
	return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_cos_sin(pos, dim, theta):
	"""HF "default" rope: inv_freq = 1/theta^(2i/dim), cos/sin of cat(freqs, freqs), float32."""
	inv = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
	fr = pos.float()[:, None] * inv.to(pos.device)[None, :]
	emb = torch.cat([fr, fr], dim=-1)
	return emb.cos(), emb.sin()


def rotate_half(x):
	h = x.shape[-1] // 2
	return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def apply_rope(x, cos, sin):
	"""x [heads, T, d]; cos/sin [T, d]."""
	return x * cos[None] + rotate_half(x) * sin[None]


def swiglu(x, W, p):
	return F.linear(F.silu(F.linear(x, W[p + "gate_proj.weight"])) * F.linear(x, W[p + "up_proj.weight"]),
			W[p + "down_proj.weight"])

# ---------------------------------------------------------------------------
# decoder (MODEL.md §5)


class Decoder:
	def __init__(self, W, cfg):
		self.W, self.c = W, cfg

	def embed(self, ids, image_embeds=None):
		E = self.W["model.embed_tokens.weight"]
		ids = torch.as_tensor(ids, dtype=torch.long, device=E.device)
		x = E[ids].clone()
		m = ids == IMAGE_TOKEN
		n = int(m.sum())
		if n:
			if image_embeds is None or image_embeds.shape[0] != n:
				raise ValueError("%d image slots, %s embeddings" % (
					n, None if image_embeds is None else image_embeds.shape[0]))
			x[m] = image_embeds.float().to(x.device)
		return x

	def new_cache(self):
		return [[None, None] for _ in range(self.c.layers)]

	def moe(self, x, p):
		W, c = self.W, self.c
		logits = F.linear(x.float(), W[p + "gate.weight"].float())
		probs = logits.softmax(dim=-1, dtype=torch.float32)
		w, idx = torch.topk(probs, c.topk, dim=-1, sorted=True)
		if c.norm_topk:
			w = w / w.sum(-1, keepdim=True)
		w = w * c.routed_scale
		y = torch.zeros_like(x)
		for e in range(c.n_experts):
			tok, slot = (idx == e).nonzero(as_tuple=True)
			if tok.numel() == 0:
				continue
			y[tok] += w[tok, slot, None] * swiglu(x[tok], W, p + "experts.%d." % e)
		return y + swiglu(x, W, p + "shared_experts.")

	def forward(self, x, start, cache, hiddens=None):
		"""x [T, H] embeddings at positions start..start+T-1; cache updated; returns logits [T, V]."""
		W, c = self.W, self.c
		T, nh, hd = x.shape[0], c.heads, c.head_dim
		pos = torch.arange(start, start + T, device=x.device)
		cos, sin = rope_cos_sin(pos, hd, c.rope_theta)
		# query t (absolute start+t) may see keys 0..start+t
		allowed = torch.arange(start + T, device=x.device)[None, :] <= pos[:, None]
		if hiddens is not None:
			hiddens.append(x.clone())
		for i in range(c.layers):
			p = "model.layers.%d." % i
			h = rms_norm(x, W[p + "input_layernorm.weight"], c.rms_eps)
			q = F.linear(h, W[p + "self_attn.q_proj.weight"]).view(T, nh, hd).transpose(0, 1)
			k = F.linear(h, W[p + "self_attn.k_proj.weight"]).view(T, c.kv_heads, hd).transpose(0, 1)
			v = F.linear(h, W[p + "self_attn.v_proj.weight"]).view(T, c.kv_heads, hd).transpose(0, 1)
			q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
			if cache[i][0] is not None:
				k = torch.cat([cache[i][0], k], dim=1)
				v = torch.cat([cache[i][1], v], dim=1)
			cache[i][0], cache[i][1] = k, v
			if c.kv_heads != nh:
				k = k.repeat_interleave(nh // c.kv_heads, dim=0)
				v = v.repeat_interleave(nh // c.kv_heads, dim=0)
			s = torch.matmul(q, k.transpose(1, 2)) / math.sqrt(hd)
			s = s.masked_fill(~allowed[None], float("-inf"))
			o = torch.matmul(s.softmax(dim=-1), v).transpose(0, 1).reshape(T, nh * hd)
			x = x + F.linear(o, W[p + "self_attn.o_proj.weight"])
			h = rms_norm(x, W[p + "post_attention_layernorm.weight"], c.rms_eps)
			x = x + (swiglu(h, W, p + "mlp.") if i < c.first_k_dense else self.moe(h, p + "mlp."))
			if hiddens is not None:
				hiddens.append(x.clone())
		x = rms_norm(x, W["model.norm.weight"], c.rms_eps)
		return F.linear(x, W["lm_head.weight"]).float()


def banned_vllm(gen, n, window, whitelist=TD_WHITELIST):
	"""Official vLLM NoRepeatNGramLogitsProcessor semantics over the GENERATED ids only."""
	L = len(gen)
	if L < n:
		return set()
	prefix = tuple(gen[L - (n - 1):]) if n > 1 else ()
	ban = set()
	for s in range(max(0, L - window), L - n + 1):
		g = gen[s:s + n]
		if tuple(g[:-1]) == prefix:
			ban.add(g[-1])
	return ban - set(whitelist)


def banned_hf(seq, n):
	"""HF no_repeat_ngram_size semantics over the WHOLE sequence (prompt + generated)."""
	L = len(seq)
	if L + 1 < n:
		return set()
	prefix = tuple(seq[L - (n - 1):]) if n > 1 else ()
	ban = set()
	for s in range(0, L - n + 1):
		if tuple(seq[s:s + n - 1]) == prefix:
			ban.add(seq[s + n - 1])
	return ban


def generate(dec, ids, image_embeds=None, steps=40, guard=None, keep_logits=0):
	"""Greedy decoding. guard: None, ("vllm", n, window) or ("hf", n).
	Returns (generated ids incl. EOS if produced, [raw logits after prefill, after step 1, ...]
	(the first keep_logits+1 of them), list of (step, banned ids) where the guard changed the choice,
	per-step margin between the chosen logit and the next best one (after the ban))."""
	cache = dec.new_cache()
	logits = dec.forward(dec.embed(ids, image_embeds), 0, cache)[-1]
	kept = [logits]
	gen, changed, margins = [], [], []
	for step in range(steps):
		ban = set()
		if guard and guard[0] == "vllm":
			ban = banned_vllm(gen, guard[1], guard[2])
		elif guard and guard[0] == "hf":
			ban = banned_hf(list(ids) + gen, guard[1])
		l = logits
		if ban:
			l = logits.clone()
			l[sorted(ban)] = float("-inf")
		t = int(torch.argmax(l))
		top2 = torch.topk(l, 2).values
		margins.append(float(top2[0] - top2[1]))
		if ban and t != int(torch.argmax(logits)):
			changed.append((step, sorted(ban)))
		gen.append(t)
		if t == EOS:
			break
		if step + 1 == steps:
			break
		logits = dec.forward(dec.embed([t]), len(ids) + step, cache)[-1]
		if len(kept) <= keep_logits:
			kept.append(logits)
	return gen, kept, changed, margins

# ---------------------------------------------------------------------------
# preprocessing (MODEL.md §3; official image_process.py / HF infer)


def crop_candidates(min_num=MIN_CROPS, max_num=MAX_CROPS):
	"""The official candidate list: a Python set of (cols, rows), built in the same insertion
	order, then stably sorted by cols*rows. Its iteration order is CPython's."""
	cand = set()
	for n in range(min_num, max_num + 1):
		for i in range(1, n + 1):
			for j in range(1, n + 1):
				if min_num <= i * j <= max_num:
					cand.add((i, j))
	return sorted(cand, key=lambda r: r[0] * r[1])


def choose_grid(width, height, tile=TILE_SIZE):
	"""(cols, rows) for the local crops, or None when both sides are <= tile (no crops)."""
	if width <= tile and height <= tile:
		return None
	ar = width / height
	best, best_diff = (1, 1), float("inf")
	area = width * height
	for r in crop_candidates():
		d = abs(ar - r[0] / r[1])
		if d < best_diff:
			best_diff, best = d, r
		elif d == best_diff and area > 0.5 * tile * tile * r[0] * r[1]:
			best = r
	return best


def load_image(path):
	from PIL import Image, ImageOps
	im = Image.open(path)
	im = ImageOps.exif_transpose(im)
	return im.convert("RGB")


def preprocess(im):
	"""PIL RGB image -> dict(grid=(cols, rows) or None, global_u8 PIL 1024x1024, crops_u8 [PIL 768x768])."""
	from PIL import Image, ImageOps
	grid = choose_grid(im.width, im.height)
	crops = []
	if grid is not None:
		cols, rows = grid
		big = im.resize((TILE_SIZE * cols, TILE_SIZE * rows), Image.BICUBIC)
		for t in range(cols * rows):
			x, y = (t % cols) * TILE_SIZE, (t // cols) * TILE_SIZE
			crops.append(big.crop((x, y, x + TILE_SIZE, y + TILE_SIZE)))
	glob = ImageOps.pad(im, (BASE_SIZE, BASE_SIZE), method=Image.BICUBIC,
			    color=(127, 127, 127), centering=(0.5, 0.5))
	return {"grid": grid, "global": glob, "crops": crops}


def to_tensor(pil):
	"""uint8 HWC RGB -> float32 CHW in [-1, 1]: (v/255 - 0.5)/0.5."""
	a = torch.from_numpy(np.asarray(pil, dtype=np.uint8).copy()).permute(2, 0, 1).float()
	return (a / 255.0 - 0.5) / 0.5

# ---------------------------------------------------------------------------
# encoder (MODEL.md §4)


def resize_rel_pos(rel, L):
	"""[n, d] -> [L, d] by 1-D linear interpolation along n (align_corners=False), as get_rel_pos does."""
	if rel.shape[0] == L:
		return rel
	return F.interpolate(rel.t()[None], size=L, mode="linear", align_corners=False)[0].t()


def get_rel_pos(size, rel):
	"""Rel-pos rows for q_size == k_size == size: resized linearly (align_corners=False) to
	2*size-1 rows when needed, then gathered at q - k + size - 1 -> [size, size, d]."""
	rel = resize_rel_pos(rel, 2 * size - 1)
	idx = torch.arange(size, device=rel.device)
	idx = idx[:, None] - idx[None, :] + size - 1
	return rel[idx]


def layer_norm_2d(x, w, b, eps=1e-6):
	u = x.mean(0, keepdim=True)
	s = (x - u).pow(2).mean(0, keepdim=True)
	return w[:, None, None] * ((x - u) / torch.sqrt(s + eps)) + b[:, None, None]


class Encoder:
	def __init__(self, W, cfg):
		self.W, self.c = W, cfg
		self.checked_mask = False

	# ---- SAM
	def sam_attention(self, x, p):
		"""x [B, h, w, C] -> [B, h, w, C] (global over h*w tokens, rel-pos bias)."""
		W, c = self.W, self.c
		B, h, w, C = x.shape
		nh = c.sam_heads
		hd = C // nh
		qkv = F.linear(x, W[p + "qkv.weight"], W[p + "qkv.bias"])
		qkv = qkv.reshape(B, h * w, 3, nh, hd).permute(2, 0, 3, 1, 4)
		q, k, v = qkv[0], qkv[1], qkv[2]                       # [B, nh, hw, hd]
		Rh = get_rel_pos(h, W[p + "rel_pos_h"])                  # [h, h, hd]
		Rw = get_rel_pos(w, W[p + "rel_pos_w"])                  # [w, w, hd]
		rq = q.reshape(B, nh, h, w, hd)
		rel_h = torch.einsum("bnhwc,hkc->bnhwk", rq, Rh)
		rel_w = torch.einsum("bnhwc,wkc->bnhwk", rq, Rw)
		bias = (rel_h[..., :, None] + rel_w[..., None, :]).reshape(B, nh, h * w, h * w)
		s = torch.matmul(q, k.transpose(-1, -2)) * (hd ** -0.5) + bias
		o = torch.matmul(s.softmax(dim=-1), v)                  # [B, nh, hw, hd]
		o = o.reshape(B, nh, h, w, hd).permute(0, 2, 3, 1, 4).reshape(B, h, w, C)
		return F.linear(o, W[p + "proj.weight"], W[p + "proj.bias"])

	def sam_block(self, x, i):
		"""x [G, G, C]."""
		W, c = self.W, self.c
		p = "model.sam_model.blocks.%d." % i
		G, _, C = x.shape
		h = F.layer_norm(x, (C,), W[p + "norm1.weight"], W[p + "norm1.bias"], 1e-6)
		if i in c.sam_global:
			h = self.sam_attention(h[None], p + "attn.")[0]
		else:
			ws = c.sam_window
			pad = (ws - G % ws) % ws
			Gp = G + pad
			hp = F.pad(h, (0, 0, 0, pad, 0, pad))           # zeros at bottom/right, NOT masked
			nw = Gp // ws
			win = hp.reshape(nw, ws, nw, ws, C).permute(0, 2, 1, 3, 4).reshape(nw * nw, ws, ws, C)
			win = self.sam_attention(win, p + "attn.")
			hp = win.reshape(nw, nw, ws, ws, C).permute(0, 2, 1, 3, 4).reshape(Gp, Gp, C)
			h = hp[:G, :G]
		x = x + h
		h = F.layer_norm(x, (C,), W[p + "norm2.weight"], W[p + "norm2.bias"], 1e-6)
		h = F.linear(F.gelu(F.linear(h, W[p + "mlp.lin1.weight"], W[p + "mlp.lin1.bias"])),
			     W[p + "mlp.lin2.weight"], W[p + "mlp.lin2.bias"])
		return x + h

	def pos_embed(self, G):
		pe = self.W["model.sam_model.pos_embed"]                 # [1, 64, 64, C]
		if pe.shape[1] != G:
			pe = F.interpolate(pe.permute(0, 3, 1, 2), size=(G, G), mode="bicubic",
					   antialias=True, align_corners=False).permute(0, 2, 3, 1)
		return pe[0]

	def sam(self, view, trace=None):
		"""view [3, S, S] -> tokens [(S/64)^2, enc_hidden] (row-major)."""
		W, c = self.W, self.c
		s = "model.sam_model."
		x = F.conv2d(view[None], W[s + "patch_embed.proj.weight"], W[s + "patch_embed.proj.bias"], stride=PATCH)
		x = x[0].permute(1, 2, 0)                                # [G, G, C]
		x = x + self.pos_embed(x.shape[0])
		if trace is not None:
			trace.append(x)
		for i in range(c.sam_layers):
			x = self.sam_block(x, i)
			if trace is not None:
				trace.append(x)
		y = x.permute(2, 0, 1)                                   # [C, G, G]
		y = F.conv2d(y[None], W[s + "neck.0.weight"])[0]
		y = layer_norm_2d(y, W[s + "neck.1.weight"], W[s + "neck.1.bias"])
		y = F.conv2d(y[None], W[s + "neck.2.weight"], padding=1)[0]
		y = layer_norm_2d(y, W[s + "neck.3.weight"], W[s + "neck.3.bias"])
		if trace is not None:
			trace.append(y.permute(1, 2, 0))
		y = F.conv2d(y[None], W[s + "net_2.weight"], stride=2, padding=1)
		y = F.conv2d(y, W[s + "net_3.weight"], stride=2, padding=1)[0]
		return y.flatten(1).t().contiguous()                     # [N, E]

	# ---- flow encoder
	@staticmethod
	def flow_mask(N, device=None):
		"""[2N, 2N] bool, True = may attend. Visual rows: visual columns only (bidirectional).
		Query rows: all visual columns + query columns up to and including themselves."""
		m = torch.zeros(2 * N, 2 * N, dtype=torch.bool, device=device)
		m[:, :N] = True
		m[N:, N:] = torch.ones(N, N, dtype=torch.bool, device=device).tril()
		return m

	def flow_all(self, feat, queries=None, trace=None):
		"""feat [N, E] -> final-normed outputs for all 2N rows (trace: input, then each layer's output)."""
		W, c = self.W, self.c
		N, E = feat.shape
		if queries is None:
			qn = {144: "query_768", 256: "query_1024"}.get(N)
			if qn is None:
				raise ValueError("flow encoder: %d visual tokens, need 144 or 256" % N)
			queries = W["model.qwen2_model.%s.weight" % qn]
		x = torch.cat([feat, queries], dim=0)
		T, nh, kvh = 2 * N, c.enc_heads, c.enc_kv
		hd = E // nh
		cos, sin = rope_cos_sin(torch.arange(T, device=x.device), hd, c.enc_theta)
		allowed = self.flow_mask(N, x.device)
		if trace is not None:
			trace.append(x)
		for i in range(c.enc_layers):
			p = "model.qwen2_model.model.model.layers.%d." % i
			h = rms_norm(x, W[p + "input_layernorm.weight"], c.enc_eps)
			q = F.linear(h, W[p + "self_attn.q_proj.weight"], W[p + "self_attn.q_proj.bias"])
			k = F.linear(h, W[p + "self_attn.k_proj.weight"], W[p + "self_attn.k_proj.bias"])
			v = F.linear(h, W[p + "self_attn.v_proj.weight"], W[p + "self_attn.v_proj.bias"])
			q = apply_rope(q.view(T, nh, hd).transpose(0, 1), cos, sin)
			k = apply_rope(k.view(T, kvh, hd).transpose(0, 1), cos, sin)
			v = v.view(T, kvh, hd).transpose(0, 1)
			k = k.repeat_interleave(nh // kvh, dim=0)            # head h uses kv head h // (nh/kvh)
			v = v.repeat_interleave(nh // kvh, dim=0)
			s = torch.matmul(q, k.transpose(1, 2)) / math.sqrt(hd)
			s = s.masked_fill(~allowed[None], float("-inf"))
			o = torch.matmul(s.softmax(dim=-1), v).transpose(0, 1).reshape(T, E)
			x = x + F.linear(o, W[p + "self_attn.o_proj.weight"])
			h = rms_norm(x, W[p + "post_attention_layernorm.weight"], c.enc_eps)
			x = x + swiglu(h, W, p + "mlp.")
			if trace is not None:
				trace.append(x)
		return rms_norm(x, W["model.qwen2_model.model.model.norm.weight"], c.enc_eps)

	def check_mask(self, feat):
		"""Asserts the hybrid mask is really applied (MODEL.md §11): perturbing the queries leaves
		the visual rows unchanged; perturbing query j changes query rows >= j only."""
		N = feat.shape[0]
		qn = "query_768" if N == 144 else "query_1024"
		Q = self.W["model.qwen2_model.%s.weight" % qn]
		a = self.flow_all(feat, Q)
		g = torch.Generator().manual_seed(7)
		j = N // 2
		Q2 = Q.clone()
		Q2[j:] += torch.randn(Q2[j:].shape, generator=g).to(Q2.device)
		b = self.flow_all(feat, Q2)
		d_vis = (a[:N] - b[:N]).abs().max().item()
		d_before = (a[N:N + j] - b[N:N + j]).abs().max().item()
		d_after = (a[N + j:] - b[N + j:]).abs().max().item()
		assert d_vis == 0.0, "visual rows see the queries (%g)" % d_vis
		assert d_before == 0.0, "queries see later queries (%g)" % d_before
		assert d_after > 1e-3, "queries ignore their own inputs (%g)" % d_after
		# and the visual rows are bidirectional: perturbing the last visual token changes row 0
		f2 = feat.clone()
		f2[-1] += 1.0
		c2 = self.flow_all(f2, Q)
		assert (a[0] - c2[0]).abs().max().item() > 1e-4, "visual rows are causal"
		self.checked_mask = True

	def flow(self, feat):
		N = feat.shape[0]
		return self.flow_all(feat)[N:]

	def project(self, y):
		return F.linear(y, self.W["model.projector.layers.weight"], self.W["model.projector.layers.bias"])

	def encode(self, views, out=None):
		"""views: dict from preprocess(). Returns the image embedding sequence [144k+257, H];
		fills `out` (dict) with the per-stage tensors when given."""
		dev = self.W["model.view_seperator"].device
		vt = [to_tensor(c).to(dev) for c in views["crops"]] + [to_tensor(views["global"]).to(dev)]
		sams, flows, projs = [], [], []
		for v in vt:
			s = self.sam(v)
			if not self.checked_mask:
				self.check_mask(s)
			f = self.flow(s)
			sams.append(s)
			flows.append(f)
			projs.append(self.project(f))
		seq = torch.cat(projs + [self.W["model.view_seperator"][None]], dim=0)
		if out is not None:
			out.update(views=vt, sam=sams, flow=flows, proj=projs, seq=seq)
		return seq


def load_model(model_dir, device="cpu"):
	cfg = Config(model_dir)
	W = load_safetensors(os.path.join(model_dir, "model-00001-of-000001.safetensors"))
	if device != "cpu":
		W = {k: v.to(device) for k, v in W.items()}
	return cfg, W


def image_prompt_ids(n_img, text=DOC_PROMPT):
	return [BOS] + [IMAGE_TOKEN] * n_img + list(text)
