#!/usr/bin/python3
"""Full-size encoder check data: testdata/reference/reference.py (float32) run
on a full-size random checkpoint (testdata/make-tiny.py --full) for one page,
per stage, for tests/encoder/test-encoder.c:

    python3 testdata/make-tiny.py --full --out m
    python3 tests/encoder/full-encoder-ref.py --model m/full \\
        --image testdata/images/bzip2-p1-72dpi.png --out OUT.safetensors [--device cuda]

Writes the same tensor names and metadata as make-goldens.py's encoder
goldens (grid, sam_global, flow_global, sam_crops, flow_crops, image_embeds,
global/crop view sha256), so the C test reads either:

    TESTDATA=... test-enc-model full OUT.safetensors images/bzip2-p1-72dpi.png

Only the encoder tensors are loaded (~1.8 GB as f32). TF32 is off on CUDA for
both matmuls and cuDNN convolutions: with cuDNN's default (TF32 on) the SAM
output is off by 2e-3 and the test fails, as it should.
"""
import argparse
import hashlib
import json
import os
import struct
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "testdata", "reference"))
import reference as R  # noqa: E402

ENC_PREFIXES = ("model.sam_model.", "model.qwen2_model.", "model.projector.", "model.view_seperator")


def load_encoder(path, device):
	"""{name: f32 tensor} for the encoder tensors only (bf16/f16/f32)."""
	with open(path, "rb") as f:
		(n,) = struct.unpack("<Q", f.read(8))
		hdr = json.loads(f.read(n))
	base = 8 + n
	mm = np.memmap(path, dtype=np.uint8, mode="r")
	W = {}
	for name, t in hdr.items():
		if name == "__metadata__" or not name.startswith(ENC_PREFIXES):
			continue
		a, b = t["data_offsets"]
		raw = np.asarray(mm[base + a:base + b])
		if t["dtype"] == "BF16":
			v = (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)
		elif t["dtype"] == "F16":
			v = raw.view("<f2").astype(np.float32)
		elif t["dtype"] == "F32":
			v = raw.view("<f4").copy()
		else:
			raise ValueError("%s: dtype %s" % (name, t["dtype"]))
		W[name] = torch.from_numpy(v.reshape(t["shape"])).to(device)
	return W


def u8sha(pil):
	return hashlib.sha256(np.asarray(pil, dtype=np.uint8).tobytes()).hexdigest()


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--model", required=True)
	ap.add_argument("--image", required=True)
	ap.add_argument("--out", required=True)
	ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
	a = ap.parse_args()
	torch.backends.cuda.matmul.allow_tf32 = False
	torch.backends.cudnn.allow_tf32 = False
	if a.device != "cpu":  # reference.py makes its masks and rope tables with defaults
		torch.set_default_device(a.device)
	t0 = time.time()
	cfg = R.Config(a.model)
	W = load_encoder(os.path.join(a.model, "model-00001-of-000001.safetensors"), a.device)
	t1 = time.time()
	enc = R.Encoder(W, cfg)
	im = R.load_image(a.image)
	views = R.preprocess(im)
	k = len(views["crops"])
	st = {}
	with torch.no_grad():
		# reference.py builds its view tensors on the CPU; run them on the device
		vt = [R.to_tensor(c).to(a.device) for c in views["crops"]] + \
			[R.to_tensor(views["global"]).to(a.device)]
		sams = [enc.sam(v) for v in vt]
		flows = [enc.flow(s) for s in sams]
		projs = [enc.project(f) for f in flows]
		seq = torch.cat(projs + [W["model.view_seperator"][None]], dim=0)
	if a.device == "cuda":
		torch.cuda.synchronize()
	t2 = time.time()
	out = {"grid": np.asarray(views["grid"] if views["grid"] else (0, 0), dtype=np.int32),
	       "sam_global": sams[-1].cpu().numpy(), "flow_global": flows[-1].cpu().numpy(),
	       "image_embeds": seq.cpu().numpy()}
	if k:
		out["sam_crops"] = torch.stack(sams[:k]).cpu().numpy()
		out["flow_crops"] = torch.stack(flows[:k]).cpu().numpy()
	meta = {"model": os.path.basename(a.model.rstrip("/")), "image": a.image,
		"device": a.device, "torch": torch.__version__,
		"global_view_u8_sha256": u8sha(views["global"]),
		"crop_views_u8_sha256": json.dumps([u8sha(c) for c in views["crops"]]),
		"contents": "full-size encoder stages (tests/encoder/full-encoder-ref.py)"}
	R.save_safetensors(a.out, {n: np.ascontiguousarray(v) for n, v in out.items()}, meta)
	print("load %.1f s, encode %.1f s (%d views) on %s -> %s" % (t1 - t0, t2 - t1, k + 1, a.device,
									  a.out))


if __name__ == "__main__":
	main()
