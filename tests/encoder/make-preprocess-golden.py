#!/usr/bin/python3
"""Writes testdata/golden/enc-preprocess.json: Pillow's answers for the
encoder's preprocessing (MODEL.md §3), for tests/encoder/test-preprocess.c.

Reference: Pillow (Image.resize BICUBIC, ImageOps.pad, Image.crop) and a
restatement of the official crop-grid rule (DeepSeek-OCR-2
process/image_process.py: the candidate set sorted by cols*rows, first
strictly-better distance wins, exact ties go to the later candidate when the
area exceeds half the candidate canvas).

Three kinds of vectors:
  grids:   (W, H) -> (cols, rows), from the rule above.
  resizes: a synthetic noise image (formula below, repeated in the C test)
           resized with Image.resize(BICUBIC); sha256 of the RGB bytes.
  pages:   bzip2 manual pages rendered by pdftocairo (arguments recorded) at
           several resolutions and aspect ratios; sha256 of the decoded
           source RGB, of the ImageOps.pad global view and of every crop.

Usage: /usr/bin/python3 tests/encoder/make-preprocess-golden.py
       /usr/bin/python3 tests/encoder/make-preprocess-golden.py --diff CASE FILE
         (CASE as the C test names it: resize-N, PAGE-global, PAGE-cropN;
          prints the first pixel where FILE differs from Pillow)
(needs testdata/cache/bzip2-manual.pdf from testdata/fetch.sh, pdftocairo,
Pillow, numpy). The rendered PNGs land in testdata/cache/enc-pages/.
"""
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image, ImageOps

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(ROOT, "testdata", "cache")
PAGES = os.path.join(CACHE, "enc-pages")
OUT = os.path.join(ROOT, "testdata", "golden", "enc-preprocess.json")

TILE, BASE, MIN_CROPS, MAX_CROPS = 768, 1024, 2, 6


def choose_grid(w, h):
	if w <= TILE and h <= TILE:
		return (1, 1)
	ratios = set((i, j) for n in range(MIN_CROPS, MAX_CROPS + 1)
		     for i in range(1, n + 1) for j in range(1, n + 1)
		     if MIN_CROPS <= i * j <= MAX_CROPS)
	ratios = sorted(ratios, key=lambda x: x[0] * x[1])
	ar = w / h
	best, best_diff = (1, 1), float("inf")
	for i, j in ratios:
		d = abs(ar - i / j)
		if d < best_diff:
			best_diff, best = d, (i, j)
		elif d == best_diff and w * h > 0.5 * TILE * TILE * i * j:
			best = (i, j)
	return best


def noise(w, h, seed):
	"""uint8 [h, w, 3]: a 32-bit integer hash of (x, y, c, seed), low byte.
	The C test computes the same formula."""
	y, x, c = np.meshgrid(np.arange(h, dtype=np.uint32), np.arange(w, dtype=np.uint32),
			      np.arange(3, dtype=np.uint32), indexing="ij")
	with np.errstate(over="ignore"):
		v = x * np.uint32(2654435761) + y * np.uint32(40503) + c * np.uint32(97) + \
			np.uint32(seed) * np.uint32(1000003)
		v ^= v >> np.uint32(13)
		v *= np.uint32(0x5bd1e995)
		v ^= v >> np.uint32(15)
	# keep large flat areas too, like text pages: clamp half of the range
	b = (v & np.uint32(255)).astype(np.int32)
	b = np.clip((b - 64) * 2, 0, 255)
	return b.astype(np.uint8)


def sha(b):
	return hashlib.sha256(b).hexdigest()


def grids():
	sizes = [(768, 768), (800, 800), (1191, 1684), (1920, 1080), (3000, 1000),
		 (1536, 1024), (769, 500), (500, 769), (769, 769), (768, 769), (1224, 1584),
		 (2550, 3300), (1000, 6000), (6000, 1000), (4000, 1000), (1000, 4000),
		 (1200, 800), (800, 1200), (1537, 768), (2000, 1000), (1000, 2000),
		 (5000, 1000), (1000, 5000), (1, 5000), (5000, 1), (10000, 10000), (770, 2)]
	rng = np.random.default_rng(7)
	for _ in range(200):
		sizes.append((int(rng.integers(1, 5000)), int(rng.integers(1, 5000))))
	return [{"w": w, "h": h, "grid": list(choose_grid(w, h))} for w, h in sizes]


def resizes_cases():
	return [(37, 23, 100, 61), (100, 61, 37, 23), (64, 64, 48, 48), (1, 1, 5, 3),
		 (5, 3, 1, 1), (300, 200, 300, 77), (300, 200, 77, 200), (1000, 10, 1024, 3),
		 (613, 791, 1024, 1321), (1224, 1584, 791, 1024), (1224, 1584, 1536, 2304),
		 (2550, 3300, 791, 1024), (17, 900, 1024, 13), (768, 768, 1024, 1024)]


def resizes():
	out = []
	for n, (sw, sh, dw, dh) in enumerate(resizes_cases()):
		src = noise(sw, sh, n)
		im = Image.fromarray(src, "RGB").resize((dw, dh), Image.Resampling.BICUBIC)
		out.append({"seed": n, "sw": sw, "sh": sh, "dw": dw, "dh": dh,
			    "sha256": sha(np.asarray(im).tobytes())})
	return out


PAGE_CASES = [
	# name, pdftocairo arguments (besides -png -singlefile, the PDF and the output)
	("p1-144dpi", ["-f", "1", "-l", "1", "-r", "144"]),
	("p3-72dpi", ["-f", "3", "-l", "3", "-r", "72"]),
	("p5-50dpi", ["-f", "5", "-l", "5", "-r", "50"]),
	("p7-300dpi", ["-f", "7", "-l", "7", "-r", "300"]),
	("p2-landscape", ["-f", "2", "-l", "2", "-scale-to-x", "1900", "-scale-to-y", "1000"]),
	("p4-768sq", ["-f", "4", "-l", "4", "-scale-to-x", "768", "-scale-to-y", "768"]),
	("p6-strip", ["-f", "6", "-l", "6", "-scale-to-x", "3000", "-scale-to-y", "600"]),
	("p9-1024sq", ["-f", "9", "-l", "9", "-scale-to-x", "1024", "-scale-to-y", "1024"]),
	("p8-tall", ["-f", "8", "-l", "8", "-scale-to-x", "700", "-scale-to-y", "2900"]),
	("p10-tiny", ["-f", "10", "-l", "10", "-scale-to-x", "90", "-scale-to-y", "61"]),
]


def pages():
	pdf = os.path.join(CACHE, "bzip2-manual.pdf")
	os.makedirs(PAGES, exist_ok=True)
	out = []
	for name, args in PAGE_CASES:
		png = os.path.join(PAGES, name + ".png")
		subprocess.run(["pdftocairo", "-png", "-singlefile"] + args +
			       [pdf, png[:-4]], check=True)
		im = Image.open(png)
		im.load()
		im = im.convert("RGB")
		w, h = im.size
		cols, rows = choose_grid(w, h)
		glob = ImageOps.pad(im, (BASE, BASE), method=Image.Resampling.BICUBIC,
				    color=(127, 127, 127), centering=(0.5, 0.5))
		crops = []
		if cols * rows > 1:
			big = im.resize((TILE * cols, TILE * rows))  # default filter: BICUBIC
			for t in range(cols * rows):
				x, y = (t % cols) * TILE, (t // cols) * TILE
				crops.append(sha(big.crop((x, y, x + TILE, y + TILE)).tobytes()))
		out.append({"name": name, "pdftocairo": args, "w": w, "h": h,
			    "src_sha256": sha(im.tobytes()), "grid": [cols, rows],
			    "global_sha256": sha(glob.tobytes()), "crops_sha256": crops})
	return out


def pillow_bytes(case):
	"""(bytes, width) of one golden item, recomputed."""
	if case.startswith("resize-"):
		n = int(case[7:])
		sw, sh, dw, dh = [r for r in resizes_cases()][n]
		im = Image.fromarray(noise(sw, sh, n), "RGB").resize((dw, dh), Image.Resampling.BICUBIC)
		return np.asarray(im).tobytes(), dw
	name, part = case.rsplit("-", 1)
	im = Image.open(os.path.join(PAGES, name + ".png")).convert("RGB")
	if part == "global":
		return ImageOps.pad(im, (BASE, BASE), color=(127, 127, 127)).tobytes(), BASE
	t = int(part[4:])
	cols, rows = choose_grid(*im.size)
	big = im.resize((TILE * cols, TILE * rows))
	x, y = (t % cols) * TILE, (t // cols) * TILE
	return big.crop((x, y, x + TILE, y + TILE)).tobytes(), TILE


def diff(case, path):
	want, w = pillow_bytes(case)
	got = open(path, "rb").read()
	if len(got) != len(want):
		print("sizes differ: %d vs Pillow %d" % (len(got), len(want)))
		return 1
	for i in range(len(want)):
		if got[i] != want[i]:
			p = i // 3
			print("first difference at x=%d y=%d channel %d: C %d, Pillow %d" %
			      (p % w, p // w, i % 3, got[i], want[i]))
			return 1
	print("identical")
	return 0


SYNTH_VIEWS = [(1, 1), (5, 3), (769, 2), (2, 769), (1500, 7), (800, 800), (1025, 1024)]


def synth_views():
	"""ImageOps.pad + crops of small and extreme noise images (seed 100 + index)."""
	out = []
	for n, (w, h) in enumerate(SYNTH_VIEWS):
		im = Image.fromarray(noise(w, h, 100 + n), "RGB")
		cols, rows = choose_grid(w, h)
		glob = ImageOps.pad(im, (BASE, BASE), method=Image.Resampling.BICUBIC,
				    color=(127, 127, 127), centering=(0.5, 0.5))
		crops = []
		if cols * rows > 1:
			big = im.resize((TILE * cols, TILE * rows))
			for t in range(cols * rows):
				x, y = (t % cols) * TILE, (t // cols) * TILE
				crops.append(sha(big.crop((x, y, x + TILE, y + TILE)).tobytes()))
		out.append({"seed": 100 + n, "w": w, "h": h, "grid": [cols, rows],
			    "global_sha256": sha(glob.tobytes()), "crops_sha256": crops})
	return out


def main():
	if len(sys.argv) == 4 and sys.argv[1] == "--diff":
		sys.exit(diff(sys.argv[2], sys.argv[3]))
	import PIL
	doc = {"generator": "tests/encoder/make-preprocess-golden.py",
	       "pillow": PIL.__version__, "grids": grids(), "resizes": resizes(), "synth_views": synth_views(),
	       "pages": pages()}
	os.makedirs(os.path.dirname(OUT), exist_ok=True)
	with open(OUT, "w") as f:
		json.dump(doc, f, indent=1)
		f.write("\n")
	print("wrote", OUT, file=sys.stderr)


if __name__ == "__main__":
	main()
