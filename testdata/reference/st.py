"""Reads safetensors files into numpy arrays (numpy only): what the float32
reference (reference.py) and the checks that need no torch
(tests/bench/full-size-check.sh) both read."""
import json
import struct

import numpy as np


def _bf16_to_f32(raw):
	u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
	return u.view(np.float32)


def load(path):
	"""{name: float32 (or int32) numpy array}. BF16/F16/F32/I32 supported; header checked."""
	with open(path, "rb") as f:
		data = f.read()
	(n,) = struct.unpack("<Q", data[:8])
	header = json.loads(data[8:8 + n])
	base = 8 + n
	out = {}
	for name, info in header.items():
		if name == "__metadata__":
			continue
		b, e = info["data_offsets"]
		raw = data[base + b:base + e]
		dt = info["dtype"]
		if dt == "BF16":
			a = _bf16_to_f32(raw)
		elif dt == "F16":
			a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
		elif dt == "F32":
			a = np.frombuffer(raw, dtype="<f4").copy()
		elif dt == "I32":
			a = np.frombuffer(raw, dtype="<i4").copy()
		else:
			raise ValueError("%s: %s: unsupported dtype %s" % (path, name, dt))
		out[name] = np.ascontiguousarray(a).reshape(info["shape"])
	return out
