#!/usr/bin/python3
"""Prints 'N passed, N failed' from a meson testlog.json; exits 1 on any failure."""
import json, sys

passed = failed = skipped = 0
try:
    with open(sys.argv[1]) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)["result"]
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
                print("FAILED:", json.loads(line)["name"])
except OSError as e:
    print(f"cannot read {sys.argv[1]}: {e}")
    failed += 1
if passed + failed == 0:
    print("no test ran")
    failed = 1
tail = f", {skipped} skipped" if skipped else ""
print(f"{passed} passed, {failed} failed{tail}")
sys.exit(1 if failed else 0)
