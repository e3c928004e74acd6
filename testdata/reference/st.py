"""Reads safetensors files into numpy arrays (numpy only): what the float32
reference (reference.py) and the checks that need no torch
(tests/bench/full-size-check.sh) both read."""
import json
import struct

import numpy as np


def load(path, skip_unknown=False):
	"""{name: float32 (or int32) numpy array}. BF16/F16/F32/I32 supported; other dtypes
	raise ValueError, or are left out with skip_unknown. The file is memory-mapped: a
	6.8 GB checkpoint costs only what its arrays take once widened."""
	with open(path, "rb") as f:
		(n,) = struct.unpack("<Q", f.read(8))
		header = json.loads(f.read(n))
	mm = np.memmap(path, dtype=np.uint8, mode="r")
	base = 8 + n
	out = {}
	for name, info in header.items():
		if name == "__metadata__":
			continue
		b, e = info["data_offsets"]
		raw = mm[base + b:base + e]
		dt = info["dtype"]
		if dt == "BF16":
			a = (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)
		elif dt == "F16":
			a = raw.view("<f2").astype(np.float32)
		elif dt == "F32":
			a = np.array(raw.view("<f4"))
		elif dt == "I32":
			a = np.array(raw.view("<i4"))
		elif skip_unknown:
			continue
		else:
			raise ValueError("%s: %s: unsupported dtype %s" % (path, name, dt))
		out[name] = np.ascontiguousarray(a).reshape(info["shape"])
	del mm
	return out
