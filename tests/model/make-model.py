#!/usr/bin/python3
"""Writes small model directories for the `ocr2 model info|check` tests.

The tensor names and shapes are written out here from MODEL.md §2.2 (not from
the C code they test); values are a cheap deterministic pattern, since only
the layout matters. Standard library only.

usage:
  make-model.py OUTDIR            good/ and one hostile variant per directory
  make-model.py --published OUTDIR [INDEX]
      published/: the published dimensions (2707 tensors, 6.78 GB of bf16)
      as a SPARSE file - the header is real, the data section is a hole - so
      `model check --no-scan` and `model info` run on the real layout without
      6.8 GB of disk. With INDEX (the hub's model.safetensors.index.json) the
      name set is also compared with it.
"""
import array
import json
import os
import shutil
import struct
import sys

TINY = dict(
    hidden=32, layers=3, heads=4, kv_heads=2, intermediate=48, moe_inter=16,
    n_experts=4, topk=2, n_shared=2, first_k_dense=1, vocab=300,
    sam_width=16, sam_layers=3, sam_heads=2, sam_global=[1], sam_window=7,
    sam_mlp=24, neck=8, net2=12,
    enc_hidden=16, enc_layers=2, enc_heads=2, enc_kv=1, enc_inter=24,
)

PUBLISHED = dict(
    hidden=1280, layers=12, heads=10, kv_heads=10, intermediate=6848, moe_inter=896,
    n_experts=64, topk=6, n_shared=2, first_k_dense=1, vocab=129280,
    sam_width=768, sam_layers=12, sam_heads=12, sam_global=[2, 5, 8, 11], sam_window=14,
    sam_mlp=3072, neck=256, net2=512,
    enc_hidden=896, enc_layers=24, enc_heads=14, enc_kv=2, enc_inter=4864,
)


def tensors(d):
    """[(name, shape)] of MODEL.md §2.2 for dims d."""
    out = []
    W, hd = d["sam_width"], d["sam_width"] // d["sam_heads"]
    s = "model.sam_model."
    out += [(s + "patch_embed.proj.weight", [W, 3, 16, 16]), (s + "patch_embed.proj.bias", [W]),
            (s + "pos_embed", [1, 64, 64, W])]
    for i in range(d["sam_layers"]):
        b = s + "blocks.%d." % i
        rel = 127 if i in d["sam_global"] else 2 * d["sam_window"] - 1
        out += [(b + "norm1.weight", [W]), (b + "norm1.bias", [W]),
                (b + "attn.qkv.weight", [3 * W, W]), (b + "attn.qkv.bias", [3 * W]),
                (b + "attn.proj.weight", [W, W]), (b + "attn.proj.bias", [W]),
                (b + "attn.rel_pos_h", [rel, hd]), (b + "attn.rel_pos_w", [rel, hd]),
                (b + "norm2.weight", [W]), (b + "norm2.bias", [W]),
                (b + "mlp.lin1.weight", [d["sam_mlp"], W]), (b + "mlp.lin1.bias", [d["sam_mlp"]]),
                (b + "mlp.lin2.weight", [W, d["sam_mlp"]]), (b + "mlp.lin2.bias", [W])]
    N = d["neck"]
    out += [(s + "neck.0.weight", [N, W, 1, 1]), (s + "neck.1.weight", [N]), (s + "neck.1.bias", [N]),
            (s + "neck.2.weight", [N, N, 3, 3]), (s + "neck.3.weight", [N]), (s + "neck.3.bias", [N]),
            (s + "net_2.weight", [d["net2"], N, 3, 3]),
            (s + "net_3.weight", [d["enc_hidden"], d["net2"], 3, 3])]
    E, I = d["enc_hidden"], d["enc_inter"]
    kv = d["enc_kv"] * (E // d["enc_heads"])
    q = "model.qwen2_model."
    for i in range(d["enc_layers"]):
        b = q + "model.model.layers.%d." % i
        out += [(b + "self_attn.q_proj.weight", [E, E]), (b + "self_attn.q_proj.bias", [E]),
                (b + "self_attn.k_proj.weight", [kv, E]), (b + "self_attn.k_proj.bias", [kv]),
                (b + "self_attn.v_proj.weight", [kv, E]), (b + "self_attn.v_proj.bias", [kv]),
                (b + "self_attn.o_proj.weight", [E, E]),
                (b + "mlp.gate_proj.weight", [I, E]), (b + "mlp.up_proj.weight", [I, E]),
                (b + "mlp.down_proj.weight", [E, I]),
                (b + "input_layernorm.weight", [E]), (b + "post_attention_layernorm.weight", [E])]
    out += [(q + "model.model.norm.weight", [E]), (q + "query_768.weight", [144, E]),
            (q + "query_1024.weight", [256, E])]
    H = d["hidden"]
    hdl = H // d["heads"]
    out += [("model.projector.layers.weight", [H, E]), ("model.projector.layers.bias", [H]),
            ("model.view_seperator", [H]), ("model.embed_tokens.weight", [d["vocab"], H])]
    for i in range(d["layers"]):
        b = "model.layers.%d." % i
        out += [(b + "self_attn.q_proj.weight", [H, H]),
                (b + "self_attn.k_proj.weight", [d["kv_heads"] * hdl, H]),
                (b + "self_attn.v_proj.weight", [d["kv_heads"] * hdl, H]),
                (b + "self_attn.o_proj.weight", [H, H]),
                (b + "input_layernorm.weight", [H]), (b + "post_attention_layernorm.weight", [H])]
        if i < d["first_k_dense"]:
            F = d["intermediate"]
            out += [(b + "mlp.gate_proj.weight", [F, H]), (b + "mlp.up_proj.weight", [F, H]),
                    (b + "mlp.down_proj.weight", [H, F])]
            continue
        S, M = d["moe_inter"] * d["n_shared"], d["moe_inter"]
        out += [(b + "mlp.gate.weight", [d["n_experts"], H]),
                (b + "mlp.shared_experts.gate_proj.weight", [S, H]),
                (b + "mlp.shared_experts.up_proj.weight", [S, H]),
                (b + "mlp.shared_experts.down_proj.weight", [H, S])]
        for e in range(d["n_experts"]):
            x = b + "mlp.experts.%d." % e
            out += [(x + "gate_proj.weight", [M, H]), (x + "up_proj.weight", [M, H]),
                    (x + "down_proj.weight", [H, M])]
    out += [("model.norm.weight", [H]), ("lm_head.weight", [d["vocab"], H])]
    return out


def config(d):
    lm = {
        "bos_token_id": 0, "eos_token_id": 1, "first_k_dense_replace": d["first_k_dense"],
        "hidden_size": d["hidden"], "intermediate_size": d["intermediate"],
        "max_position_embeddings": 8192, "moe_intermediate_size": d["moe_inter"],
        "n_routed_experts": d["n_experts"], "n_shared_experts": d["n_shared"],
        "num_attention_heads": d["heads"], "num_experts_per_tok": d["topk"],
        "num_hidden_layers": d["layers"], "num_key_value_heads": d["kv_heads"],
        "topk_method": "greedy", "use_mla": False, "vocab_size": d["vocab"],
    }
    if d["vocab"] <= 128815:
        lm["image_token_id"] = d["vocab"] - 1
    cfg = dict(lm)
    cfg["language_config"] = dict(lm)
    cfg["model_type"] = "deepseek_vl_v2"
    cfg["vision_config"] = {"image_size": 1024, "model_name": "deepencoderv2", "width": {
        "qwen2-0-5b": {"dim": d["enc_hidden"], "layers": d["enc_layers"], "heads": d["enc_heads"],
                       "kv_heads": d["enc_kv"], "intermediate_size": d["enc_inter"]},
        "sam_vit_b": {"width": d["sam_width"], "layers": d["sam_layers"], "heads": d["sam_heads"],
                      "global_attn_indexes": d["sam_global"],
                      "downsample_channels": [d["net2"], 1024], "mlp_dim": d["sam_mlp"],
                      "window_size": d["sam_window"], "neck_channels": d["neck"]}}}
    return cfg


SIZE = {"F32": 4, "BF16": 2, "I32": 4}


def prod(shape):
    n = 1
    for x in shape:
        n *= x
    return n


def values(name, n, dtype, poison=None):
    """n elements of a small deterministic pattern, as bytes of dtype."""
    seed = sum(name.encode()) % 97
    f = array.array("f", [((i * 7 + seed) % 23 - 11) / 16.0 for i in range(n)])
    if poison is not None and n:
        f[n // 2] = poison
    if dtype == "F32":
        return f.tobytes()
    if dtype == "I32":
        return array.array("i", [int(v) for v in f]).tobytes()
    # bf16: the high half of each little-endian float32 (the pattern is exact in bf16)
    return memoryview(f.tobytes()).cast("H")[1::2].tobytes()


def write_safetensors(path, specs, sparse=False, truncate=None):
    """specs: [(name, shape, dtype, poison)]"""
    header, off = {}, 0
    for name, shape, dtype, _ in specs:
        n = 1
        for x in shape:
            n *= x
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + n * SIZE[dtype]]}
        off += n * SIZE[dtype]
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * (-(8 + len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        if sparse:
            f.truncate(8 + len(h) + off)
            return
        for name, shape, dtype, poison in specs:
            n = 1
            for x in shape:
                n *= x
            f.write(values(name, n, dtype, poison))
    if truncate:
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) - truncate)


def make_dir(path, d, specs, cfg=None, tokenizer=True, sparse=False, truncate=None):
    os.makedirs(path, exist_ok=True)
    if cfg is not False:
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(cfg or config(d), f, indent=1)
    if tokenizer:
        with open(os.path.join(path, "tokenizer.json"), "w") as f:
            f.write("{}\n")
    write_safetensors(os.path.join(path, "model.safetensors"), specs, sparse, truncate)


def good_specs(d, dtype="BF16"):
    # norms in F32, the rest in dtype: both kinds appear in real checkpoints
    return [(n, s, "F32" if "norm" in n else dtype, None) for n, s in tensors(d)]


def main():
    if sys.argv[1] == "--published":
        out = sys.argv[2]
        names = tensors(PUBLISHED)
        if len(sys.argv) > 3:
            with open(sys.argv[3]) as f:
                hub = set(json.load(f)["weight_map"])
            mine = set(n for n, _ in names)
            assert mine == hub, ("names differ", sorted(mine - hub)[:5], sorted(hub - mine)[:5])
            print("name set matches the index: %d tensors" % len(hub))
        p = os.path.join(out, "published")
        shutil.rmtree(p, ignore_errors=True)
        make_dir(p, PUBLISHED, [(n, s, "BF16", None) for n, s in names], sparse=True)
        with open(os.path.join(p, "config.json"), "w") as f:
            f.write(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                      "testdata", "published-config.json")).read())
        return
    out = sys.argv[1]
    d = TINY
    specs = good_specs(d)
    make_dir(os.path.join(out, "good"), d, specs)
    with open(os.path.join(out, "good.expect"), "w") as f:  # tensor count and data bytes
        f.write("%d %d\n" % (len(specs), sum(SIZE[t] * prod(s) for _, s, t, _ in specs)))
    make_dir(os.path.join(out, "good-f32"), d, good_specs(d, "F32"))

    def variant(name, fn=None, **kw):
        s = [list(x) for x in specs]
        if fn:
            s = fn(s) or s
        make_dir(os.path.join(out, name), d, [tuple(x) for x in s], **kw)

    def drop(target):
        return lambda s: [x for x in s if x[0] != target]

    def edit(target, i, v):
        def f(s):
            for x in s:
                if x[0] == target:
                    x[i] = v
        return f

    variant("missing-tensor", drop("model.layers.2.mlp.experts.3.up_proj.weight"))
    variant("missing-lm-head", drop("lm_head.weight"))
    variant("wrong-shape", edit("model.sam_model.net_3.weight", 1, [24, 12, 3, 3]))
    # a global block must have the 127-row table, not the window one
    variant("wrong-rel-pos", edit("model.sam_model.blocks.1.attn.rel_pos_h", 1, [13, 8]))
    variant("wrong-dtype", edit("model.qwen2_model.query_768.weight", 2, "I32"))
    variant("nan", edit("model.layers.0.mlp.down_proj.weight", 3, float("nan")))
    variant("inf", edit("model.sam_model.pos_embed", 3, float("-inf")))
    variant("truncated", truncate=1000)
    variant("no-config", cfg=False)
    variant("no-tokenizer", tokenizer=False)
    bad = config(d)
    bad["hidden_size"] = 1 << 30
    variant("absurd-config", cfg=bad)
    bad = config(d)
    bad["vision_config"]["width"]["sam_vit_b"]["global_attn_indexes"] = [1, 7]
    variant("absurd-global", cfg=bad)
    variant("hostile-header")
    p = os.path.join(out, "hostile-header", "model.safetensors")
    with open(p, "r+b") as f:
        f.write(struct.pack("<Q", 1 << 62))
    os.makedirs(os.path.join(out, "no-weights"), exist_ok=True)
    with open(os.path.join(out, "no-weights", "config.json"), "w") as f:
        json.dump(config(d), f)


if __name__ == "__main__":
    main()
