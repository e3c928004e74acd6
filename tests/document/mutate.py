#!/usr/bin/python3
"""Robustness check of the readers (suite `slow`): mutates every fixture in
testdata/docs/ (bit flips, overwritten runs, truncation, duplicated ranges)
and runs `ocr2 render` on the results in batches. Each batch must exit 0 or 1
(never a crash, a sanitizer report or a hang), print at most one line per
input/page, and leave no temporaries. Deterministic (seeded).

usage: mutate.py OCR2 FIXTURE_DIR [N_PER_FIXTURE]
Build with -Db_sanitize=address,undefined for the full value.
"""
import os
import random
import subprocess
import sys
import tempfile

ocr2, fixdir = sys.argv[1], sys.argv[2]
per = int(sys.argv[3]) if len(sys.argv) > 3 else 20
rng = random.Random(20260123)
fixtures = sorted(f for f in os.listdir(fixdir)
                  if f.rsplit(".", 1)[-1] in ("png", "jpg", "tif", "pdf") and "bomb" not in f and "huge" not in f)


def mutate(b):
    b = bytearray(b)
    kind = rng.randrange(5)
    if not b:
        return bytes(b)
    if kind == 0:  # flip a few bits
        for _ in range(rng.randrange(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == 1:  # overwrite a run with random or extreme bytes
        i = rng.randrange(len(b))
        n = rng.randrange(1, 32)
        fill = rng.choice([None, 0x00, 0xff, 0x7f])
        for j in range(i, min(len(b), i + n)):
            b[j] = rng.randrange(256) if fill is None else fill
    elif kind == 2:  # truncate
        b = b[: rng.randrange(len(b))]
    elif kind == 3:  # duplicate a range
        i = rng.randrange(len(b))
        j = min(len(b), i + rng.randrange(1, 256))
        b[i:i] = b[i:j]
    else:  # header fields: mutate within the first 64 bytes
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(min(64, len(b)))
            b[i] = rng.randrange(256)
    return bytes(b)


bad = 0
total = 0
with tempfile.TemporaryDirectory() as tmp:
    # fontconfig keeps a one-time allocation for the life of the process
    supp = os.path.join(tmp, "lsan.supp")
    with open(supp, "w") as o:
        o.write("leak:libfontconfig.so\n")
    env = dict(os.environ, ASAN_OPTIONS="exitcode=99:detect_leaks=1",
               LSAN_OPTIONS="print_suppressions=0:suppressions=" + supp,
               UBSAN_OPTIONS="halt_on_error=1:exitcode=98")
    for f in fixtures:
        src = open(os.path.join(fixdir, f), "rb").read()
        ins = []
        for k in range(per):
            p = os.path.join(tmp, "in", "%s.%d" % (f, k))
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as o:
                o.write(mutate(src))
            ins.append(p)
        out = os.path.join(tmp, "out")
        try:
            r = subprocess.run([ocr2, "render", "-r", "36", "-o", out] + ins, env=env,
                               capture_output=True, timeout=300)
        except subprocess.TimeoutExpired:
            print("FAIL %s: hang" % f)
            bad += 1
            continue
        total += len(ins)
        err = r.stderr.decode("utf-8", "replace")
        lines = [l for l in err.splitlines() if l]
        # poppler's CairoFontEngine reports a broken embedded font with a
        # hard-coded fprintf(stderr) that no log handler can catch
        stray = [l for l in lines if not l.startswith("ocr2 render: ")
                 and l != "some font thing failed"]
        temps = [x for x in os.listdir(out) if x.startswith(".")] if os.path.isdir(out) else []
        if r.returncode not in (0, 1) or stray or temps:
            print("FAIL %s: exit %d, stray stderr %r, temporaries %r" % (f, r.returncode, stray[:5], temps))
            bad += 1
        else:
            print("ok %s: %d mutants, %d error lines" % (f, len(ins), len(lines)))
        for x in os.listdir(os.path.join(tmp, "in")):
            os.unlink(os.path.join(tmp, "in", x))
        if os.path.isdir(out):
            for x in os.listdir(out):
                os.unlink(os.path.join(out, x))
print("%d mutants of %d fixtures, %d failures" % (total, len(fixtures), bad))
sys.exit(1 if bad else 0)
