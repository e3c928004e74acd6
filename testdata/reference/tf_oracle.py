#!/usr/bin/env python3
"""Cross-checks reference.py (and the committed goldens) against an independent
implementation: transformers 5.x's native DeepSeek-OCR 2
(transformers.models.deepseek_ocr2.DeepseekOcr2ForConditionalGeneration).

Runs on the GPU machine (torch 2.x + transformers 5.x + Pillow); not in CI.

    python3 testdata/reference/tf_oracle.py --out $OUT/oracle.json \
        --model testdata/models/tiny-f32 [--model testdata/models/tiny] [--device cuda]

For each model dir it
  1. builds a DeepseekOcr2Config by hand from the dir's config.json (the published
     model_type deepseek_vl_v2 is not read by transformers);
  2. loads the weights with from_pretrained (its own renaming of the published
     layout) and checks every parameter against ocr2's reading of the layout
     (reports mismatches; loads ocr2's reading where transformers failed);
  3. runs, all in float32 (TF32 off): the decoder goldens (prefill logits with the
     stored image embeddings, 4 cached decode steps, 40 greedy ids with and without
     the n-gram guards), the text-only prompt, and for each golden image: SAM
     output, flow output, projected image embedding sequence, full-pipeline greedy
     ids; each against (a) reference.py run live here and (b) the committed golden;
  4. checks that transformers' flow encoder really applies the hybrid mask;
  5. reports how transformers' own image processor differs from the official
     preprocessing (informational: it is not the official Pillow path).
Every comparison is wrapped: one failure does not hide the others. Prints one
line per comparison and writes a JSON report.
"""
import argparse
import json
import os
import re
import sys
import time
import traceback

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TD = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import reference as R  # noqa: E402

REPORT = {}


def log(*a):
	print(*a, flush=True)


def record(model, name, **kw):
	REPORT.setdefault(model, {})[name] = kw
	parts = ["%s=%s" % (k, ("%.3g" % v) if isinstance(v, float) else v) for k, v in kw.items()
		 if k not in ("trace",)]
	log("[%s] %-44s %s" % (model, name, " ".join(parts)))


def check(model, name, fn):
	try:
		fn()
	except Exception as e:  # noqa: BLE001 -- keep going, report everything
		record(model, name, ok=False, error="%s: %s" % (type(e).__name__, e), trace=traceback.format_exc())


def cmp(model, name, got, want, tol):
	got = torch.as_tensor(got).detach().float().cpu()
	want = torch.as_tensor(want).detach().float().cpu()
	if got.shape != want.shape:
		record(model, name, ok=False, error="shape %s vs %s" % (tuple(got.shape), tuple(want.shape)))
		return
	d = (got - want).abs().max().item() if got.numel() else 0.0
	scale = want.abs().max().item() if want.numel() else 0.0
	record(model, name, ok=bool(d <= tol * max(1.0, scale)), maxabs=d, scale=scale, tol_rel=tol)


def cmp_ids(model, name, got, want):
	got, want = [int(x) for x in got], [int(x) for x in want]
	first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
	if first is None and len(got) != len(want):
		first = min(len(got), len(want))
	record(model, name, ok=first is None, n=len(want), first_diff=first,
	       got=got if first is not None else None, want=want if first is not None else None)

# ---------------------------------------------------------------------------
# config and weights


def make(cls, d, model, what):
	"""cls(**d), dropping keys that this transformers version refuses (reported)."""
	d = dict(d)
	for _ in range(len(d) + 1):
		try:
			return cls(**d)
		except (TypeError, ValueError) as e:
			m = re.search(r"'(\w+)'", str(e))
			if not m or m.group(1) not in d:
				raise
			log("[%s] config %s: dropping %s (%s)" % (model, what, m.group(1), e))
			d.pop(m.group(1))
	raise RuntimeError("config %s: cannot build" % what)


def build_config(c, model):
	from transformers.models.deepseek_ocr2 import configuration_deepseek_ocr2 as C
	n, fk = c.layers, c.first_k_dense
	text = dict(
		vocab_size=c.vocab, hidden_size=c.hidden, intermediate_size=c.intermediate,
		moe_intermediate_size=c.moe_inter, num_hidden_layers=n, num_attention_heads=c.heads,
		num_key_value_heads=c.kv_heads, n_routed_experts=c.n_experts, n_shared_experts=c.n_shared,
		num_experts_per_tok=c.topk, routed_scaling_factor=c.routed_scale, topk_method="greedy",
		n_group=1, topk_group=1, mlp_layer_types=["dense"] * fk + ["sparse"] * (n - fk),
		rope_parameters={"rope_type": "default", "rope_theta": c.rope_theta},
		rms_norm_eps=c.rms_eps, max_position_embeddings=8192, bos_token_id=0, eos_token_id=1,
		tie_word_embeddings=False, hidden_act="silu", attention_bias=False,
	)
	sam = dict(
		hidden_size=c.sam_width, output_channels=c.sam_neck, num_hidden_layers=c.sam_layers,
		num_attention_heads=c.sam_heads, mlp_dim=c.sam_mlp, window_size=c.sam_window,
		global_attn_indexes=list(c.sam_global), downsample_channels=[c.sam_net2, c.enc_hidden],
		image_size=1024, patch_size=16, layer_norm_eps=1e-6, qkv_bias=True, use_abs_pos=True,
		use_rel_pos=True, hidden_act="gelu",
	)
	enc = dict(
		hidden_size=c.enc_hidden, num_hidden_layers=c.enc_layers, num_attention_heads=c.enc_heads,
		num_key_value_heads=c.enc_kv, intermediate_size=c.enc_inter,
		rope_parameters={"rope_type": "default", "rope_theta": c.enc_theta},
		rms_norm_eps=c.enc_eps, max_position_embeddings=131072, vocab_size=151936, hidden_act="silu",
	)
	samc = make(C.DeepseekOcr2SamVisionConfig, sam, model, "sam")
	encc = make(C.DeepseekOcr2VisionEncoderConfig, enc, model, "encoder")
	vis = make(C.DeepseekOcr2VisionConfig, dict(sam_config=samc, encoder_config=encc), model, "vision")
	txt = make(C.DeepseekOcr2TextConfig, text, model, "text")
	cfg = make(C.DeepseekOcr2Config, dict(vision_config=vis, text_config=txt, image_token_id=R.IMAGE_TOKEN,
					      tie_word_embeddings=False), model, "top")
	return cfg


def expected_param(tf_name, W, c):
	"""ocr2's reading of the published layout, for one transformers parameter name; None if unknown."""
	n = tf_name
	m = re.match(r"^model\.vision_tower\.sam_encoder\.(.*)$", n)
	if m:
		r = m.group(1)
		s = "model.sam_model."
		fixed = {"neck.conv1.weight": "neck.0.weight", "neck.layer_norm1.weight": "neck.1.weight",
			 "neck.layer_norm1.bias": "neck.1.bias", "neck.conv2.weight": "neck.2.weight",
			 "neck.layer_norm2.weight": "neck.3.weight", "neck.layer_norm2.bias": "neck.3.bias",
			 "proj.conv1.weight": "net_2.weight", "proj.conv2.weight": "net_3.weight"}
		if r in fixed:
			return W.get(s + fixed[r])
		r = r.replace("patch_embed.projection.", "patch_embed.proj.")
		r = re.sub(r"^layers\.", "blocks.", r)
		r = r.replace(".layer_norm1.", ".norm1.").replace(".layer_norm2.", ".norm2.")
		return W.get(s + r)
	m = re.match(r"^model\.vision_tower\.vision_encoder\.(.*)$", n)
	if m:
		return W.get("model.qwen2_model.model.model." + m.group(1))
	m = re.match(r"^model\.vision_tower\.query_(768|1024)_resolution\.weight$", n)
	if m:
		return W.get("model.qwen2_model.query_%s.weight" % m.group(1))
	if n.startswith("model.multi_modal_projector."):
		return W.get("model.projector.layers." + n.split(".")[-1])
	if n == "model.view_separator":
		return W.get("model.view_seperator")
	if n == "lm_head.weight":
		return W.get("lm_head.weight")
	m = re.match(r"^model\.language_model\.(.*)$", n)
	if m:
		r = m.group(1)
		me = re.match(r"^layers\.(\d+)\.mlp\.experts\.(gate_up_proj|down_proj)$", r)
		if me:
			i, which = int(me.group(1)), me.group(2)
			p = "model.layers.%d.mlp.experts.%%d." % i
			if which == "gate_up_proj":
				return torch.stack([torch.cat([W[p % e + "gate_proj.weight"], W[p % e + "up_proj.weight"]], 0)
						    for e in range(c.n_experts)])
			return torch.stack([W[p % e + "down_proj.weight"] for e in range(c.n_experts)])
		return W.get("model." + r)
	return None


def load_tf(mdir, c, W, model, device):
	from transformers.models.deepseek_ocr2 import DeepseekOcr2ForConditionalGeneration as M
	cfg = build_config(c, model)
	info = None
	tf = None
	for kw in ({"dtype": torch.float32}, {"torch_dtype": torch.float32}):
		try:
			tf, info = M.from_pretrained(mdir, config=cfg, attn_implementation="eager",
						     output_loading_info=True, **kw)
			break
		except Exception as e:  # noqa: BLE001
			log("[%s] from_pretrained(%s) failed: %s" % (model, list(kw)[0], e))
	if tf is None:
		tf = M(cfg)
		info = {"error": "from_pretrained failed; weights copied from ocr2's reading"}
	tf = tf.float().eval()
	if isinstance(info, dict):
		rec = {k: sorted(map(str, v))[:50] for k, v in info.items() if isinstance(v, (list, set)) and v}
		record(model, "from_pretrained loading info", ok=not rec, **{k: v for k, v in rec.items()})
	bad, unknown, fixed = [], [], 0
	with torch.no_grad():
		for name, p in list(tf.named_parameters()) + list(tf.named_buffers()):
			if "inv_freq" in name or "original_inv_freq" in name:
				continue
			want = expected_param(name, W, c)
			if want is None:
				unknown.append(name)
				continue
			want = want.to(p.device, torch.float32)
			if want.shape != p.shape and want.dim() == 3 and want.transpose(1, 2).shape == p.shape:
				want = want.transpose(1, 2)
			if want.shape != p.shape:
				bad.append("%s shape %s vs ocr2 %s" % (name, tuple(p.shape), tuple(want.shape)))
				continue
			d = (p.float() - want).abs().max().item()
			if d != 0.0:
				bad.append("%s maxabs %.3g" % (name, d))
				p.copy_(want)
				fixed += 1
	record(model, "weights: transformers vs ocr2 layout", ok=not bad and not unknown,
	       mismatched=bad[:40], n_mismatched=len(bad), unmapped=unknown[:40], copied_from_ocr2=fixed)
	return tf.to(device)

# ---------------------------------------------------------------------------
# transformers-side computations


def tf_greedy(tf, first_kwargs, steps, guard, prompt_ids, keep=4):
	"""Greedy loop over transformers with its KV cache; returns (ids, [raw logits prefill, step1..])."""
	out = tf(use_cache=True, **first_kwargs)
	pkv = out.past_key_values
	logits = out.logits[0, -1].float()
	kept, gen = [logits], []
	dev = logits.device
	for step in range(steps):
		ban = set()
		if guard and guard[0] == "vllm":
			ban = R.banned_vllm(gen, guard[1], guard[2])
		elif guard and guard[0] == "hf":
			ban = R.banned_hf(list(prompt_ids) + gen, guard[1])
		l = logits.clone()
		if ban:
			l[sorted(ban)] = float("-inf")
		t = int(torch.argmax(l))
		gen.append(t)
		if t == R.EOS or step + 1 == steps:
			break
		out = tf(input_ids=torch.tensor([[t]], device=dev), past_key_values=pkv, use_cache=True)
		pkv = out.past_key_values
		logits = out.logits[0, -1].float()
		if len(kept) <= keep:
			kept.append(logits)
	return gen, kept


def inputs_embeds_for(tf, ids, img, dev):
	emb = tf.get_input_embeddings()(torch.tensor([ids], device=dev)).float()
	m = torch.tensor(ids, device=dev) == R.IMAGE_TOKEN
	if img is not None:
		emb[0, m] = img.to(dev).float()
	return emb


def run_model(mdir, device, tol):
	model = os.path.basename(os.path.normpath(mdir))
	c, W = R.load_model(mdir, device)
	tf = load_tf(mdir, c, W, model, device)
	dec = R.Decoder(W, c)
	enc = R.Encoder(W, c)
	dev = torch.device(device)
	gpath = os.path.join(TD, "golden", "decoder-%s.safetensors" % model)
	G, meta = R.load_goldens(gpath) if os.path.exists(gpath) else ({}, {})
	if not G:
		record(model, "decoder golden file", ok=False, error="missing %s (comparing tf vs reference only)" % os.path.relpath(gpath, os.path.dirname(TD)))
		sub = np.sort(np.random.default_rng(4321).choice(c.vocab, 1000, replace=False))
		img = np.random.default_rng(1234).standard_normal((257, c.hidden), dtype=np.float32)
		G = {"prompt_ids": torch.tensor(R.image_prompt_ids(257)), "image_embeds": torch.from_numpy(img),
		     "logit_subset_ids": torch.from_numpy(sub), "text_prompt_ids": torch.tensor([R.BOS] + R.DOC_PROMPT)}
		meta = {"guards": json.dumps({"greedy_vllm_20_50": ["vllm", 20, 50], "greedy_hf_20": ["hf", 20]}),
			"_no_golden": "1"}
	if G and meta.get("model_sha256"):
		import hashlib
		h = hashlib.sha256(open(os.path.join(mdir, "model-00001-of-000001.safetensors"), "rb").read()).hexdigest()
		record(model, "golden model_sha256 matches this model", ok=h == meta["model_sha256"])

	with torch.no_grad():
		# ---- decoder with the stored fake image embeddings
		if G:
			has = "_no_golden" not in meta
			ids = [int(x) for x in G["prompt_ids"]]
			img = G["image_embeds"]
			emb = inputs_embeds_for(tf, ids, img, dev)
			state = {}

			def dec_prefill():
				gen, kept = tf_greedy(tf, {"inputs_embeds": emb}, 40, None, ids)
				state["tf"] = (gen, kept)
				rgen, rkept, _, _ = R.generate(dec, ids, img.to(dev), 40, None, keep_logits=4)
				state["ref"] = (rgen, rkept)
				cmp(model, "decoder prefill logits: tf vs reference", kept[0], rkept[0], tol)
				cmp_ids(model, "decoder greedy_off: tf vs reference", gen, rgen)
				if has:
					cmp(model, "decoder prefill logits: tf vs golden", kept[0], G["prefill_logits"], tol)
					cmp(model, "decoder prefill logits: reference(here) vs golden", rkept[0], G["prefill_logits"], tol)
			check(model, "decoder prefill", dec_prefill)

			def dec_steps():
				gen, kept = state["tf"]
				rgen, rkept = state["ref"]
				sub = G["logit_subset_ids"].long()
				for s in range(1, 5):
					cmp(model, "decoder step %d logits: tf vs reference" % s, kept[s], rkept[s], tol)
					if has:
						cmp(model, "decoder step %d logits[subset]: tf vs golden" % s, kept[s].cpu()[sub],
						    G["step%d_subset_logits" % s], tol)
				if has:
					cmp_ids(model, "decoder greedy_off: tf vs golden", gen, G["greedy_off"])
					cmp_ids(model, "decoder greedy_off: reference(here) vs golden", rgen, G["greedy_off"])
			check(model, "decoder steps", dec_steps)

			guards = json.loads(meta.get("guards", "{}"))
			for gname, guard in guards.items():
				if guard is None:
					continue

				def dec_guard(gname=gname, guard=guard):
					gen, _ = tf_greedy(tf, {"inputs_embeds": emb}, 40, tuple(guard), ids, keep=0)
					rgen, _, changed, _ = R.generate(dec, ids, img.to(dev), 40, tuple(guard))
					cmp_ids(model, "decoder %s: tf vs reference" % gname, gen, rgen)
					if has:
						cmp_ids(model, "decoder %s: tf vs golden" % gname, gen, G[gname])
				check(model, "decoder %s" % gname, dec_guard)

			def dec_text():
				tids = [int(x) for x in G["text_prompt_ids"]]
				gen, kept = tf_greedy(tf, {"input_ids": torch.tensor([tids], device=dev)}, 40, None, tids, keep=0)
				sub = G["logit_subset_ids"].long()
				rgen, rkept, _, _ = R.generate(dec, tids, None, 40, None)
				cmp(model, "text prompt last logits: tf vs reference", kept[0], rkept[0], tol)
				cmp_ids(model, "text prompt greedy_off: tf vs reference", gen, rgen)
				if has:
					cmp(model, "text prompt last logits[subset]: tf vs golden", kept[0].cpu()[sub],
					    G["text_logits_last"], tol)
					cmp_ids(model, "text prompt greedy_off: tf vs golden", gen, G["text_greedy_off"])
			check(model, "text prompt", dec_text)

			def dec_cache():
				# reference: KV-cache decode vs full recompute (tolerance statement)
				gen, kept = state["ref"]
				seq = ids + gen[:4]
				full = dec.forward(dec.embed(seq, img.to(dev)), 0, dec.new_cache())
				d = max((full[len(ids) - 1 + s] - kept[s]).abs().max().item() for s in range(5))
				record(model, "reference cache vs recompute (this device)", ok=True, maxabs=d)
			check(model, "cache vs recompute", dec_cache)

		# ---- encoder on the golden images
		for gname, rel in (("bzip2-p1", "images/bzip2-p1-72dpi.png"), ("crc-p1", "images/crc-p1-60dpi.png")):
			epath = os.path.join(TD, "golden", "encoder-%s-%s.safetensors" % (gname, model))
			EG = R.load_goldens(epath)[0] if os.path.exists(epath) else {}
			if not EG:
				record(model, "encoder golden %s" % gname, ok=False, error="missing " + os.path.relpath(epath, os.path.dirname(TD)))
			im = R.load_image(os.path.join(TD, rel))
			views = R.preprocess(im)
			k = len(views["crops"])
			st = {}
			es = {}

			def enc_ref(st=st, views=views):
				enc.encode(views, st)
				record(model, "reference mask check (%s)" % gname, ok=enc.checked_mask)
			check(model, "encoder reference %s" % gname, enc_ref)

			def enc_sam(st=st, k=k, EG=EG, gname=gname):
				vt = st["views"]
				glob = vt[-1][None]
				s = tf.model.vision_tower.sam_encoder(glob).last_hidden_state
				s = s.flatten(2).transpose(1, 2)[0]
				cmp(model, "%s SAM global: tf vs reference" % gname, s, st["sam"][-1], tol)
				if EG:
					cmp(model, "%s SAM global: tf vs golden" % gname, s, EG["sam_global"], tol)
				if k:
					sc = tf.model.vision_tower.sam_encoder(torch.stack(vt[:k])).last_hidden_state
					sc = sc.flatten(2).transpose(1, 2)
					cmp(model, "%s SAM crops: tf vs reference" % gname, sc, torch.stack(st["sam"][:k]), tol)
					if EG:
						cmp(model, "%s SAM crops: tf vs golden" % gname, sc, EG["sam_crops"], tol)
			check(model, "encoder SAM %s" % gname, enc_sam)

			def enc_flow(st=st, k=k, EG=EG, gname=gname):
				vt = st["views"]
				f = tf.model.vision_tower(vt[-1][None]).last_hidden_state[0]
				cmp(model, "%s flow global: tf vs reference" % gname, f, st["flow"][-1], tol)
				if EG:
					cmp(model, "%s flow global: tf vs golden" % gname, f, EG["flow_global"], tol)
				if k:
					fc = tf.model.vision_tower(torch.stack(vt[:k])).last_hidden_state
					cmp(model, "%s flow crops: tf vs reference" % gname, fc, torch.stack(st["flow"][:k]), tol)
			check(model, "encoder flow %s" % gname, enc_flow)

			def enc_mask(st=st, gname=gname):
				ve = tf.model.vision_tower.vision_encoder
				s = st["sam"][-1][None]
				N = s.shape[1]
				Q = tf.model.vision_tower.query_1024_resolution.weight[None]
				a = ve(inputs_embeds=torch.cat([s, Q], 1), num_patches=N).last_hidden_state
				Q2 = Q.clone()
				Q2[:, N // 2:] += 1.0
				b = ve(inputs_embeds=torch.cat([s, Q2], 1), num_patches=N).last_hidden_state
				dv = (a[0, :N] - b[0, :N]).abs().max().item()
				dq = (a[0, N:N + N // 2] - b[0, N:N + N // 2]).abs().max().item()
				record(model, "%s tf flow mask: visual rows ignore queries" % gname, ok=dv == 0.0, maxabs=dv)
				record(model, "%s tf flow mask: queries causal" % gname, ok=dq == 0.0, maxabs=dq)
			check(model, "tf mask %s" % gname, enc_mask)

			def enc_seq(st=st, k=k, EG=EG, gname=gname, es=es):
				vt = st["views"]
				kw = {"pixel_values": vt[-1][None]}
				if k:
					kw["pixel_values_local"] = torch.stack(vt[:k])
					kw["num_local_patches"] = [k]
				else:
					kw["num_local_patches"] = [0]
				seq = tf.model.get_image_features(**kw).pooler_output
				if isinstance(seq, (list, tuple)):
					seq = torch.cat([torch.as_tensor(x).reshape(-1, x.shape[-1]) for x in seq], 0)
				es["kw"] = kw
				cmp(model, "%s image embeds: tf vs reference" % gname, seq, st["seq"], tol)
				if EG:
					cmp(model, "%s image embeds: tf vs golden" % gname, seq, EG["image_embeds"], tol)
			check(model, "encoder sequence %s" % gname, enc_seq)

			def enc_e2e(st=st, EG=EG, gname=gname, es=es):
				ids = R.image_prompt_ids(st["seq"].shape[0])
				kw = dict(es["kw"])
				kw["input_ids"] = torch.tensor([ids], device=dev)
				gen, kept = tf_greedy(tf, kw, 40, None, ids, keep=0)
				rgen, rkept, _, _ = R.generate(dec, ids, st["seq"], 40, None)
				cmp(model, "%s e2e prefill logits: tf vs reference" % gname, kept[0], rkept[0], tol)
				cmp_ids(model, "%s e2e greedy_off: tf vs reference" % gname, gen, rgen)
				if EG:
					cmp_ids(model, "%s e2e greedy_off: tf vs golden" % gname, gen, EG["greedy_off"])
					cmp_ids(model, "%s e2e greedy_off: reference(here) vs golden" % gname, rgen, EG["greedy_off"])
			check(model, "e2e %s" % gname, enc_e2e)

			def tf_processor(views=views, im=im, gname=gname):
				from transformers.models.deepseek_ocr2 import DeepseekOcr2ImageProcessorPil
				pp = DeepseekOcr2ImageProcessorPil()
				o = pp(images=[im], return_tensors="pt")
				g = o["pixel_values"][0].float()
				mine = R.to_tensor(views["global"])
				d = (g - mine).abs().max().item() if g.shape == mine.shape else float("nan")
				nl = int(o["num_local_patches"][0])
				rec = dict(ok=nl == k, tf_num_local=nl, ours_num_local=k, global_maxabs=d,
					   note="informational: transformers' processor is not the official Pillow path")
				if nl == k and k:
					loc = o["pixel_values_local"].float()
					mc = torch.stack([R.to_tensor(c) for c in views["crops"]])
					rec["local_maxabs"] = (loc.reshape(mc.shape) - mc).abs().max().item()
				record(model, "%s tf image processor vs official preprocessing" % gname, **rec)
			check(model, "tf processor %s" % gname, tf_processor)
	del tf


def check_pillow():
	"""Recomputes golden/pillow-resize.json and golden/grids.json with this machine's Pillow/Python."""
	from PIL import Image, ImageOps

	def vectors():
		with open(os.path.join(TD, "golden", "pillow-resize.json")) as f:
			pr = json.load(f)
		bad = []
		for v in pr["vectors"]:
			im = R.load_image(os.path.join(TD, v["input"]))
			if v.get("op") == "pad1024":
				o = ImageOps.pad(im, (1024, 1024), method=Image.BICUBIC, color=(127, 127, 127))
			else:
				o = im.resize((v["width"], v["height"]), Image.BICUBIC)
			import hashlib
			h = hashlib.sha256(np.asarray(o, dtype=np.uint8).tobytes()).hexdigest()
			if h != v["sha256"]:
				bad.append("%s %s %dx%d" % (v["input"], v.get("op", "resize"), v["width"], v["height"]))
		record("pillow", "resize vectors vs golden (Pillow %s here, %s there)" % (
			__import__("PIL").__version__, pr.get("pillow")), ok=not bad, n=len(pr["vectors"]), differ=bad)
	check("pillow", "resize vectors", vectors)

	def grids():
		with open(os.path.join(TD, "golden", "grids.json")) as f:
			gr = json.load(f)
		bad = [g for g in gr["grids"] if list(R.choose_grid(g[0], g[1]) or (0, 0)) != g[2:]]
		cand = [list(x) for x in R.crop_candidates()]
		record("pillow", "grids vs golden (python %s)" % sys.version.split()[0],
		       ok=not bad and cand == gr["candidates"], n=len(gr["grids"]), differ=bad[:20],
		       candidates_same=cand == gr["candidates"])
	check("pillow", "grids", grids)

	def tf_grids():
		# informational: transformers' processor picks grids with GOT-OCR2's get_optimal_tiled_canvas
		from transformers.models.got_ocr2.image_processing_got_ocr2 import get_optimal_tiled_canvas
		with open(os.path.join(TD, "golden", "grids.json")) as f:
			gr = json.load(f)
		diff = []
		for w, h, cc, rr in gr["grids"]:
			if max(w, h) <= 768:
				continue
			g = tuple(get_optimal_tiled_canvas((h, w), (768, 768), 2, 6))
			if g != (cc, rr):
				diff.append([w, h, cc, rr, list(g)])
		record("pillow", "transformers grid choice vs official (informational)", ok=not diff,
		       n_differ=len(diff), differ=diff[:20])
	check("pillow", "tf grids", tf_grids)


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--model", action="append", default=None)
	ap.add_argument("--out", default="oracle.json")
	ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
	ap.add_argument("--tol", type=float, default=1e-3, help="max-abs / max(1, max|ref|) to call a match")
	a = ap.parse_args()
	torch.backends.cuda.matmul.allow_tf32 = False
	torch.backends.cudnn.allow_tf32 = False
	try:
		torch.set_float32_matmul_precision("highest")
	except Exception:  # noqa: BLE001
		pass
	import transformers
	import PIL
	REPORT["_env"] = {"torch": torch.__version__, "transformers": transformers.__version__,
			  "pillow": PIL.__version__, "device": a.device,
			  "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
	log("env:", REPORT["_env"])
	check_pillow()
	models = a.model or [os.path.join(TD, "models", "tiny-f32"), os.path.join(TD, "models", "tiny")]
	for m in models:
		t0 = time.time()
		name = os.path.basename(os.path.normpath(m))
		check(name, "run", lambda m=m: run_model(m, a.device, a.tol))
		log("[%s] done in %.1f s" % (name, time.time() - t0))
	n_ok = sum(1 for m, d in REPORT.items() if m != "_env" for v in d.values() if v.get("ok"))
	n_bad = sum(1 for m, d in REPORT.items() if m != "_env" for v in d.values() if not v.get("ok"))
	REPORT["_summary"] = {"ok": n_ok, "not_ok": n_bad}
	with open(a.out, "w") as f:
		json.dump(REPORT, f, indent=1, default=str)
	log("summary: %d ok, %d not ok -> %s" % (n_ok, n_bad, a.out))


if __name__ == "__main__":
	main()
