#!/usr/bin/python3
"""lib/base/sha256.c against coreutils sha256sum/sha1sum (and git's blob id rule,
computed with hashlib) on files of every length around the block boundaries,
plus a larger random one; both the x86 SHA instruction path (when the CPU has
it) and the portable code (-g). Usage: test_sha.py TEST_SHA_BINARY"""
import hashlib
import os
import random
import subprocess
import sys
import tempfile


def main():
    exe = sys.argv[1]
    rnd = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        sizes = list(range(0, 130)) + [1000, 4093, 4096, 65536 + 17, 3 * 1048576 + 5]
        for n in sizes:
            p = os.path.join(tmp, "f%d" % n)
            with open(p, "wb") as f:
                f.write(bytes(rnd.getrandbits(8) for _ in range(n)) if n < 70000
                        else os.urandom(n))
            paths.append(p)
        ours = subprocess.run([exe] + paths, capture_output=True, text=True, check=True).stdout
        ours += subprocess.run([exe, "-g"] + paths, capture_output=True, text=True,
                               check=True).stdout
        s256 = subprocess.run(["sha256sum"] + paths, capture_output=True, text=True,
                              check=True).stdout
        s1 = subprocess.run(["sha1sum"] + paths, capture_output=True, text=True,
                            check=True).stdout
        want256 = {l.split()[1]: l.split()[0] for l in s256.splitlines()}
        want1 = {l.split()[1]: l.split()[0] for l in s1.splitlines()}
        bad = 0
        for line in ours.splitlines():
            h256, h1, blob, path = line.split(" ", 3)
            data = open(path, "rb").read()
            git = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            if h256 != want256[path] or h1 != want1[path] or blob != git:
                print("FAIL %s (%d bytes): %s" % (path, len(data), line))
                bad += 1
        if len(ours.splitlines()) != 2 * len(paths):
            print("FAIL: %d lines for %d files" % (len(ours.splitlines()), len(paths)))
            bad += 1
        print("%d files compared with sha256sum/sha1sum, %d bad" % (len(paths), bad))
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
