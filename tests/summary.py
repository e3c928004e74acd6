#!/usr/bin/python3
"""Prints 'N passed, N failed' over meson testlog.json files; exits 1 on any
failure or when no test ran."""
import json, sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                if r["result"] in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif r["result"] == "SKIP":
                    skipped += 1
                else:
                    failed += 1
                    print(f"FAILED: {path.split('/')[0]}: {r['name']} ({r['result']})")
    except OSError as e:
        print(f"cannot read {path}: {e}")
        failed += 1
if passed + failed == 0:
    print("no test ran")
    failed = 1
tail = f", {skipped} skipped" if skipped else ""
print(f"{passed} passed, {failed} failed{tail}")
sys.exit(1 if failed else 0)
