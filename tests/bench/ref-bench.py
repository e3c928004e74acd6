#!/usr/bin/python3
"""Times the float32 PyTorch reference (testdata/reference/reference.py) on the
CPU, on the same model directory and page as `ocr2 bench` / `ocr2 scan`, for
the side-by-side ratio of tests/bench/compare.sh.

    /usr/bin/python3 tests/bench/ref-bench.py --model DIR --image PAGE.png \
        [--steps 32] [--threads 2]

Weights are read through np.memmap and widened to float32 one tensor at a
time (peak memory = the f32 model, ~14 GB at full size, not twice that).
Prints stage timings and a final machine-readable line starting 'ref:'.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "testdata", "reference"))
import reference as R  # noqa: E402
import st  # noqa: E402


def load_weights(model_dir):
	W = {}
	for fn in sorted(f for f in os.listdir(model_dir) if f.endswith(".safetensors")):
		arrays = st.load(os.path.join(model_dir, fn), skip_unknown=True)
		W.update({k: torch.from_numpy(v) for k, v in arrays.items()})
	return W


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--model", required=True)
	ap.add_argument("--image", required=True)
	ap.add_argument("--steps", type=int, default=32)
	ap.add_argument("--threads", type=int, default=os.cpu_count())
	a = ap.parse_args()
	torch.set_num_threads(a.threads)
	t0 = time.time()
	cfg = R.Config(a.model)
	W = load_weights(a.model)
	t1 = time.time()
	enc, dec = R.Encoder(W, cfg), R.Decoder(W, cfg)
	with torch.no_grad():
		views = R.preprocess(R.load_image(a.image))
		t2 = time.time()
		glob = R.to_tensor(views["global"])
		s = enc.sam(glob)
		enc.checked_mask = True  # the mask self-check costs a second flow pass
		f = enc.flow(s)
		enc.project(f)
		t3 = time.time()
		crop_s = float("nan")
		if views["crops"]:
			c = R.to_tensor(views["crops"][0])
			enc.project(enc.flow(enc.sam(c)))
			crop_s = time.time() - t3
		# end to end: preprocess + all views + prefill + steps greedy tokens
		te = time.time()
		views = R.preprocess(R.load_image(a.image))
		seq = enc.encode(views)
		ids = R.image_prompt_ids(seq.shape[0])
		tp = time.time()
		cache = dec.new_cache()
		logits = dec.forward(dec.embed(ids, seq), 0, cache)[-1]
		tp = time.time() - tp
		td = time.time()
		n = 0
		for step in range(a.steps):
			t = int(torch.argmax(logits))
			n += 1
			if t == R.EOS:
				break
			logits = dec.forward(dec.embed([t]), len(ids) + step, cache)[-1]
		td = time.time() - td
		total = time.time() - te
	print("reference load        %.2f s" % (t1 - t0))
	print("reference enc 1024    %.2f s per view" % (t3 - t2))
	print("reference enc 768     %.2f s per crop" % crop_s)
	print("reference prefill     %d tokens in %.2f s: %.1f tokens/s" % (len(ids), tp, len(ids) / tp))
	print("reference decode      %d tokens in %.2f s: %.2f tokens/s" % (n, td, n / td))
	print("reference end to end  %.2f s (%d image rows, %d tokens)" % (total, seq.shape[0], n))
	print("ref: threads=%d load_s=%.3f enc1024_s=%.3f enc768_s=%.3f prefill_tps=%.2f decode_tps=%.3f "
	      "end_to_end_s=%.3f tokens=%d" % (a.threads, t1 - t0, t3 - t2, crop_s, len(ids) / tp, n / td,
					      total, n))


if __name__ == "__main__":
	main()
