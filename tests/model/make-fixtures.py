#!/usr/bin/python3
"""Writes the safetensors fixtures for tests/model/test-weights.c into OUTDIR.

Only the standard library: the safetensors layout is written by hand (u64
little-endian header length, JSON header, data), so the hostile variants can
break exactly one rule each. Expected values come from Python's own IEEE
conversions (struct 'f' and 'e'), written to OUTDIR/expected.txt as the
float32 bit patterns the loader must read back.

usage: make-fixtures.py OUTDIR
"""
import json
import os
import struct
import sys

DT_SIZE = {"F32": 4, "F16": 2, "BF16": 2, "I32": 4, "I64": 8, "Q8_0": 1}


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def enc(dtype, values):
    """Bytes of values in dtype, and the float32 bit patterns they decode to."""
    if dtype == "F32":
        data = struct.pack("<%df" % len(values), *values)
        back = [f32_bits(v) for v in struct.unpack("<%df" % len(values), data)]
    elif dtype == "F16":
        data = struct.pack("<%de" % len(values), *values)
        back = [f32_bits(v) for v in struct.unpack("<%de" % len(values), data)]
    elif dtype == "BF16":
        # bf16 is the top half of a float32; truncate (the values chosen are exact)
        bits = [f32_bits(v) >> 16 for v in values]
        data = struct.pack("<%dH" % len(bits), *bits)
        back = [b << 16 for b in bits]
    elif dtype == "I32":
        data = struct.pack("<%di" % len(values), *values)
        back = [f32_bits(float(v)) for v in values]
    elif dtype == "I64":
        data = struct.pack("<%dq" % len(values), *values)
        back = [f32_bits(float(v)) for v in values]
    elif dtype == "Q8_0":
        data = struct.pack("<%db" % len(values), *values)
        back = None
    else:
        raise ValueError(dtype)
    return data, back


def nelem(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def build(tensors, metadata=None, align=8, header_extra=None):
    """tensors: list of (name, dtype, shape, values). Returns (bytes, expected)."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs = []
    off = 0
    expected = {}
    for name, dtype, shape, values in tensors:
        data, back = enc(dtype, values)
        assert len(data) == nelem(shape) * DT_SIZE[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
        if back is not None:
            expected[name] = back
    if header_extra:
        header_extra(header)
    return pack(header, b"".join(blobs), align), expected


def pack(header, data, align=8):
    h = json.dumps(header).encode()
    if align:
        h += b" " * ((-(8 + len(h))) % align)
    else:  # deliberately misaligned: the data starts at 1 mod 8
        h += b" " * ((1 - (8 + len(h))) % 8)
    return struct.pack("<Q", len(h)) + h + data


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


VALID = [
    ("a.f32", "F32", [2, 3], [1.0, -2.5, 3.25, 1e-30, -0.0, 65504.0]),
    ("b.bf16", "BF16", [4], [1.0, -2.0, 0.15625, 3.0e38]),
    ("c.f16", "F16", [2, 2], [0.5, -1.5, 6.1e-05, 5.96e-08]),
    ("d.i32", "I32", [3], [7, -8, 2147483647]),
    ("e.i64", "I64", [2], [-1, 1 << 40]),
    ("f.scalar", "F32", [], [42.0]),
    ("g.empty", "F32", [0, 5], []),
    ("h.4d", "BF16", [1, 2, 1, 2], [0.5, 0.25, -8.0, 1024.0]),
]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    lines = []

    data, exp = build(VALID, metadata={"format": "pt"})
    write(os.path.join(out, "valid.safetensors"), data)
    for name, bits in sorted(exp.items()):
        lines.append("valid.safetensors %s %s" % (name, " ".join("%08x" % b for b in bits)))

    # header of odd length, so every tensor after it is misaligned in the map
    mis = [("m.f32", "F32", [3], [1.5, -3.0, 7.0]), ("n.i64", "I64", [1], [123456789])]
    data, exp = build(mis, align=0)
    assert (8 + struct.unpack("<Q", data[:8])[0]) % 4 != 0
    write(os.path.join(out, "misaligned.safetensors"), data)
    for name, bits in sorted(exp.items()):
        lines.append("misaligned.safetensors %s %s" % (name, " ".join("%08x" % b for b in bits)))

    # Q8_0 with its scales (the loader binds t->scales)
    q8 = [("q.weight", "Q8_0", [2, 32], list(range(-32, 32))),
          ("q.weight.q8scale", "F32", [2], [0.5, 2.0])]
    data, _ = build(q8)
    write(os.path.join(out, "q8.safetensors"), data)

    # sharded, with an index
    def shard_dir(name, index_map, shards):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        for fn, tensors in shards.items():
            write(os.path.join(d, fn), build(tensors)[0])
        if index_map is not None:
            with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
                json.dump({"metadata": {"total_size": 0}, "weight_map": index_map}, f)

    s1 = "model-00001-of-00002.safetensors"
    s2 = "model-00002-of-00002.safetensors"
    shards = {s1: [("x.weight", "F32", [2], [1.0, 2.0]), ("y.weight", "BF16", [2], [3.0, 4.0])],
              s2: [("z.weight", "F16", [2], [5.0, 6.0])]}
    full_map = {"x.weight": s1, "y.weight": s1, "z.weight": s2}
    shard_dir("sharded", full_map, shards)
    lines.append("sharded x.weight %08x %08x" % (f32_bits(1.0), f32_bits(2.0)))
    lines.append("sharded y.weight %08x %08x" % (f32_bits(3.0), f32_bits(4.0)))
    lines.append("sharded z.weight %08x %08x" % (f32_bits(5.0), f32_bits(6.0)))
    shard_dir("noindex", None, shards)  # same files, found by listing the directory
    shard_dir("index-missing-shard", dict(full_map, **{"w.weight": "model-00003-of-00003.safetensors"}),
              shards)
    shard_dir("index-absent-tensor", dict(full_map, **{"w.weight": s2}), shards)
    shard_dir("index-wrong-shard", dict(full_map, **{"z.weight": s1}), shards)
    shard_dir("index-traversal", dict(full_map, **{"z.weight": "../valid.safetensors"}), shards)
    shard_dir("duplicate", None, {s1: shards[s1], s2: shards[s1]})
    os.makedirs(os.path.join(out, "empty-dir"), exist_ok=True)
    d = os.path.join(out, "index-badjson")
    shard_dir("index-badjson", None, shards)
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        f.write('{"weight_map": {"x.weight": ')

    with open(os.path.join(out, "expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")

    # hostile single files: each breaks one rule
    good, _ = build(VALID)
    hostile = {}
    hostile["truncated-data"] = good[:-5]
    hostile["truncated-header"] = good[:30]
    hostile["short"] = good[:5]
    hostile["empty"] = b""
    hostile["hlen-too-big"] = struct.pack("<Q", len(good)) + good[8:]
    hostile["hlen-huge"] = struct.pack("<Q", 1 << 63) + good[8:]
    hostile["hlen-200mb"] = struct.pack("<Q", 200 << 20) + good[8:]

    def mutate(fn):
        h = {}
        build(VALID, header_extra=lambda hd: h.update(hd))
        data = b"".join(enc(dt, v)[0] for _, dt, _, v in VALID)
        fn(h)
        return pack(h, data)

    def set_(name, key, val):
        def f(h):
            h[name][key] = val
        return f

    hostile["offsets-outside"] = mutate(set_("a.f32", "data_offsets", [1000, 1024]))
    hostile["offsets-reversed"] = mutate(set_("a.f32", "data_offsets", [24, 0]))
    hostile["offsets-negative"] = mutate(set_("a.f32", "data_offsets", [-8, 16]))
    hostile["offsets-float"] = mutate(set_("a.f32", "data_offsets", [0.5, 24.5]))
    hostile["offsets-huge"] = mutate(set_("a.f32", "data_offsets", [0, 1e300]))
    hostile["offsets-missing"] = mutate(lambda h: h["a.f32"].pop("data_offsets"))
    hostile["overlap"] = mutate(set_("d.i32", "data_offsets", [20, 32]))
    hostile["size-mismatch"] = mutate(set_("a.f32", "shape", [2, 2]))
    hostile["shape-overflow"] = mutate(set_("a.f32", "shape", [1 << 40, 1 << 40, 1 << 40]))
    hostile["shape-negative"] = mutate(set_("a.f32", "shape", [-2, -3]))
    hostile["shape-string"] = mutate(set_("a.f32", "shape", "2x3"))
    hostile["dtype-unknown"] = mutate(set_("a.f32", "dtype", "F8_E4M3"))
    hostile["dtype-missing"] = mutate(lambda h: h["a.f32"].pop("dtype"))
    hostile["ndim5"] = mutate(set_("h.4d", "shape", [1, 2, 1, 2, 1]))
    hostile["entry-not-object"] = mutate(lambda h: h.update({"a.f32": [1, 2]}))
    hostile["header-array"] = pack([1, 2, 3], b"")
    hostile["bad-json"] = struct.pack("<Q", 12) + b'{"a": {"dty' + b"x" * 8
    hostile["nul-header"] = struct.pack("<Q", 8) + b"\0" * 8 + b"x" * 8
    hostile["q8-no-scale"] = build([q8[0]])[0]
    hostile["q8-bad-scale"] = build([q8[0], ("q.weight.q8scale", "F32", [3], [1.0, 1.0, 1.0])])[0]
    hostile["q8-odd-count"] = build([("q.weight", "Q8_0", [3], [1, 2, 3])])[0]
    # 64 elements, but rows of 48 and 16: blocks would straddle rows
    hostile["q8-odd-rows"] = build([("q.weight", "Q8_0", [4, 16], list(range(64))),
                                    ("q.weight.q8scale", "F32", [2], [1.0, 1.0])])[0]
    # F16 scales (what quantize writes) load like F32 ones
    hostile_ok_f16 = build([q8[0], ("q.weight.q8scale", "F16", [2], [0.5, 2.0])])[0]
    write(os.path.join(out, "q8-f16.safetensors"), hostile_ok_f16)
    hostile["no-tensors"] = pack({"__metadata__": {"a": "b"}}, b"")
    for name, data in hostile.items():
        write(os.path.join(out, "bad-%s.safetensors" % name), data)
    with open(os.path.join(out, "hostile.txt"), "w") as f:
        f.write("\n".join("bad-%s.safetensors" % n for n in hostile) + "\n")


if __name__ == "__main__":
    main()
