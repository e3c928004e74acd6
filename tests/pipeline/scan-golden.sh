#!/bin/bash
# The whole pipeline through the CLI (issue 4.4): `ocr2 scan --dump` on a real
# page with a tiny model must give the reference's greedy token ids exactly and
# its image embeddings within tolerance (goldens: testdata/reference/make-goldens.py).
#   scan-golden.sh MODEL GOLDEN IMAGE TOLERANCE
# TOLERANCE bounds max|ours - ref| / max(1, max|ref|) of the embeddings. The
# f32 reference and ocr2 differ only in summation order (OpenBLAS blocking vs
# torch); measured ~2e-6 relative, so 1e-4 leaves a wide margin while still
# catching any real error (a wrong mask or RoPE moves them by O(1)).
set -uo pipefail
: "${OCR2:?}" "${TESTDATA:?}"
model=$1 golden=$2 image=$3 tol=$4
case $model in /*) ;; *) model=$TESTDATA/models/$model ;; esac
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
"$OCR2" scan -q -m "$model" --ngram 0 --max-tokens 40 -f raw -t 2 \
	--dump "$d/dump" "$TESTDATA/$image" >"$d/out.txt" 2>"$d/err.txt"
rc=$?
# 40 tokens without EOS is a truncated page: exit 1 with a 'truncated' note
[ $rc -eq 0 ] || [ $rc -eq 1 ] || { echo "FAIL: ocr2 scan exit $rc: $(cat "$d/err.txt")"; exit 1; }
/usr/bin/python3 - "$TESTDATA/golden/$golden" "$d/dump" "$tol" <<'PY'
import glob, json, os, struct, sys
import numpy as np

def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    hdr = json.loads(data[8:8 + n])
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        dt = {"F32": "<f4", "I32": "<i4"}[v["dtype"]]
        out[k] = np.frombuffer(data[8 + n + b:8 + n + e], dtype=dt).reshape(v["shape"])
    return out

g = load(sys.argv[1])
tol = float(sys.argv[3])
found = glob.glob(os.path.join(sys.argv[2], "**", "dump.json"), recursive=True)
if len(found) != 1:
    print("FAIL: expected one page dump, found %d" % len(found))
    sys.exit(1)
page = os.path.dirname(found[0])
meta = json.load(open(found[0]))
feat = np.fromfile(os.path.join(page, "features.f32"), dtype="<f4")
ids = [int(x) for x in open(os.path.join(page, "tokens.txt")).read().split()]
want_ids = [int(x) for x in g["greedy_off"] if x != 1]
emb = g["image_embeds"]
ok = True
if feat.size != emb.size:
    print("FAIL: %d image embedding values, reference %d" % (feat.size, emb.size))
    sys.exit(1)
feat = feat.reshape(emb.shape)
err = float(np.abs(feat - emb).max() / max(1.0, np.abs(emb).max()))
print("image embeddings %s: max-abs/max(1,|ref|) = %.3g (tolerance %g)" % (emb.shape, err, tol))
if not err <= tol:
    print("FAIL: image embeddings off")
    ok = False
if meta["prompt_tokens"] != len(g["prompt_ids"]):
    print("FAIL: prompt has %d tokens, reference %d" % (meta["prompt_tokens"], len(g["prompt_ids"])))
    ok = False
if ids != want_ids:
    first = next((i for i, (a, b) in enumerate(zip(ids, want_ids)) if a != b), min(len(ids), len(want_ids)))
    print("FAIL: greedy ids differ from step %d\n ocr2 %s\n ref  %s" % (first, ids, want_ids))
    ok = False
else:
    print("greedy ids: %d identical" % len(ids))
sys.exit(0 if ok else 1)
PY
