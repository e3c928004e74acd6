#!/usr/bin/python3
"""`ocr2 model fetch` / `ocr2 model list` against a fake hub on 127.0.0.1.

Usage: test_fetch.py CASE   (OCR2 = the ocr2 binary; TESTDATA optional)
Each case makes a small fake model (random safetensors shards, config,
tokenizer placeholder, plus files that must NOT be fetched), serves it with
fakehub.Hub and checks exit codes, messages, the bytes of the final files
(sha256 by hashlib), that no .part is left under a final name, and the
requests the server saw. Exit 0 pass, 1 fail, 77 skip.
"""
import hashlib
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakehub  # noqa: E402

REPO = "deepseek-ai/DeepSeek-OCR-2"
OCR2 = os.environ.get("OCR2", "build/cmd/ocr2")
SHARD1 = "model-00001-of-000002.safetensors"
SHARD2 = "model-00002-of-000002.safetensors"
WANTED = ["config.json", "tokenizer.json", "tokenizer_config.json", SHARD1, SHARD2,
          "model.safetensors.index.json"]
UNWANTED = ["README.md", "modeling_deepseekocr2.py"]


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def safetensors(tensors):
    """A valid safetensors file: 8-byte LE header length, JSON, data."""
    header, data, off = {}, b"", 0
    for name, (shape, blob) in sorted(tensors.items()):
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(blob)]}
        data += blob
        off += len(blob)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def make_model(d, seed=1):
    os.makedirs(d)
    rnd = __import__("random").Random(seed)

    def blob(n):
        return bytes(rnd.getrandbits(8) for _ in range(n))
    s1 = safetensors({"a.weight": ([128, 256], blob(128 * 256 * 4))})
    s2 = safetensors({"b.weight": ([64, 128], blob(64 * 128 * 4))})
    files = {
        "config.json": json.dumps({"model_type": "deepseek_vl_v2", "fake": True}).encode(),
        "tokenizer.json": json.dumps({"version": "1.0", "model": {"type": "BPE", "vocab": {
            "t%d" % i: i for i in range(300)}}}).encode(),
        "tokenizer_config.json": b'{"model_max_length": 8192}',
        SHARD1: s1,
        SHARD2: s2,
        "model.safetensors.index.json": json.dumps({
            "metadata": {"total_size": len(s1) + len(s2)},
            "weight_map": {"a.weight": SHARD1, "b.weight": SHARD2}}).encode(),
        "README.md": b"# not for us\n",
        "modeling_deepseekocr2.py": b"# code is not fetched\n",
    }
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    return files


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Env:
    def __init__(self, tmp, hub):
        self.tmp = tmp
        self.hub = hub
        self.model = os.path.join(tmp, "data", "ocr2", "models", "deepseek-ocr-2")
        self.env = {k: v for k, v in os.environ.items()
                    if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy",
                                         "hf_token", "hf_endpoint", "hf_hub_offline",
                                         "ocr2_model", "hf_home", "hf_token_path")}
        self.env.update({"HOME": tmp, "XDG_DATA_HOME": os.path.join(tmp, "data"),
                         "HF_HOME": os.path.join(tmp, "hf"), "no_proxy": "*",
                         "HF_ENDPOINT": hub.url})

    def run(self, *args, env=None, timeout=60):
        e = dict(self.env)
        e.update(env or {})
        t0 = time.monotonic()
        p = subprocess.run([OCR2, "model"] + list(args), env=e, capture_output=True,
                           text=True, timeout=timeout)
        p.seconds = time.monotonic() - t0
        return p

    def fetch(self, *args, **kw):
        return self.run("fetch", "--no-check", *args, **kw)

    def leftovers(self):
        """Anything half-written: .part files anywhere, temp files."""
        bad = []
        for root, _, files in os.walk(self.model):
            for f in files:
                if f.endswith(".part") or f.endswith(".tmp"):
                    bad.append(os.path.join(root, f))
        return bad


def expect(p, code, *needles):
    err = p.stderr.strip()
    check(p.returncode == code, "exit %d, expected %d; stderr: %s; stdout: %s"
          % (p.returncode, code, err, p.stdout.strip()))
    for n in needles:
        check(n in err, "stderr lacks %r: %s" % (n, err))
    if code != 0:
        lines = [l for l in err.splitlines() if l.startswith("ocr2 model fetch:")]
        check(len(lines) >= 1, "no 'ocr2 model fetch:' error line: %s" % err)


def assert_complete(e, files):
    for name in WANTED:
        path = os.path.join(e.model, name)
        check(os.path.isfile(path), "%s was not fetched" % name)
        check(sha256(path) == hashlib.sha256(files[name]).hexdigest(), "%s: wrong bytes" % name)
    for name in UNWANTED:
        check(not os.path.exists(os.path.join(e.model, name)), "%s was fetched" % name)
    check(not e.leftovers(), "left behind: %s" % e.leftovers())
    check(not os.path.exists(os.path.join(e.model, ".incomplete")), ".incomplete/ was left")


# ---- cases -------------------------------------------------------------------

def case_normal(e, files):
    p = e.fetch()
    expect(p, 0)
    check(p.stderr == "", "not quiet without a TTY: %r" % p.stderr)
    assert_complete(e, files)
    reqs = e.hub.requests()
    check(all(r["agent"] and r["agent"].startswith("ocr2/") for r in reqs),
          "user agent not ocr2/VERSION: %s" % {r["agent"] for r in reqs})
    got = sorted(r["path"].rsplit("/", 1)[-1] for r in e.hub.requests("resolve"))
    check(got == sorted(WANTED), "resolve requests %s" % got)
    check(all(e.hub.commit in r["path"] for r in e.hub.requests("resolve")),
          "files not fetched at the pinned commit")
    check(not any("/revision/" in r["path"] for r in reqs), "a pinned commit needs no lookup")
    check(all(r["auth"] is None for r in reqs), "Authorization sent without a token")
    man = json.load(open(os.path.join(e.model, ".ocr2-fetch.json")))
    check(man["commit"] == e.hub.commit and man["repo"] == REPO, "manifest: %s" % man)
    # a re-run downloads nothing
    n = len(e.hub.requests("resolve"))
    p = e.fetch()
    expect(p, 0)
    check(len(e.hub.requests("resolve")) == n, "re-run fetched files again")
    check("0 downloaded, 6 already there" in p.stdout, "summary: %s" % p.stdout)
    assert_complete(e, files)
    # model list shows it, complete
    p = e.run("list")
    check(p.returncode == 0 and "deepseek-ocr-2" in p.stdout and "complete" in p.stdout
          and "incomplete" not in p.stdout, "model list: %r %r" % (p.stdout, p.stderr))


def case_rerun_after_touch(e, files):
    """A file whose bytes changed under its final name is fetched again."""
    expect(e.fetch(), 0)
    path = os.path.join(e.model, SHARD2)
    with open(path, "r+b") as f:
        f.seek(100)
        b = f.read(1)
        f.seek(100)
        f.write(bytes([b[0] ^ 0xff]))
    n = len(e.hub.requests("resolve"))
    expect(e.fetch(), 0)
    got = [r["path"] for r in e.hub.requests("resolve")[n:]]
    check(len(got) == 1 and got[0].endswith(SHARD2), "refetched %s" % got)
    assert_complete(e, files)


def case_stale(e, files):
    """Files an earlier fetch left that the new revision lacks are removed;
    files the user put there are not."""
    expect(e.fetch(), 0)
    mine = os.path.join(e.model, "notes.txt")
    open(mine, "w").write("mine\n")
    del e.hub.files[SHARD2]
    del e.hub.files["model.safetensors.index.json"]
    expect(e.fetch(), 0)
    check(not os.path.exists(os.path.join(e.model, SHARD2)), "stale shard kept")
    check(not os.path.exists(os.path.join(e.model, "model.safetensors.index.json")),
          "stale index kept")
    check(os.path.exists(mine), "a file ocr2 did not fetch was removed")
    check(os.path.exists(os.path.join(e.model, SHARD1)), "current shard removed")


def case_resume(e, files):
    e.hub.faults[SHARD1] = "cut:50000"
    p = e.fetch("--retries", "0")
    expect(p, 1, "run again to resume")
    check(not os.path.exists(os.path.join(e.model, SHARD1)), "a cut file is under its final name")
    part = os.path.join(e.model, ".incomplete", SHARD1 + ".part")
    check(os.path.isfile(part) and os.path.getsize(part) == 50000,
          "part: %s" % (os.path.getsize(part) if os.path.exists(part) else "missing"))
    p = e.fetch()
    expect(p, 0)
    ranges = [r["range"] for r in e.hub.requests("resolve") if r["path"].endswith(SHARD1)]
    check(ranges == [None, "bytes=50000-"], "shard requests: %s" % ranges)
    assert_complete(e, files)


def case_resume_auto(e, files):
    e.hub.faults[SHARD1] = "cut:70000"
    p = e.fetch()
    expect(p, 0, "resuming")
    ranges = [r["range"] for r in e.hub.requests("resolve") if r["path"].endswith(SHARD1)]
    check(ranges == [None, "bytes=70000-"], "shard requests: %s" % ranges)
    assert_complete(e, files)


def case_norange(e, files):
    """A server that ignores Range: the part is restarted, still correct."""
    e.hub.faults[SHARD1] = "norange"
    part_dir = os.path.join(e.model, ".incomplete")
    os.makedirs(part_dir)
    with open(os.path.join(part_dir, SHARD1 + ".part"), "wb") as f:
        f.write(files[SHARD1][:1000])
    expect(e.fetch(), 0)
    assert_complete(e, files)


def case_stale_part(e, files):
    """A part that does not match the file (an older upload) fails the hash
    once, is deleted, and the next run succeeds."""
    part_dir = os.path.join(e.model, ".incomplete")
    os.makedirs(part_dir)
    with open(os.path.join(part_dir, SHARD1 + ".part"), "wb") as f:
        f.write(b"x" * 1000)
    p = e.fetch()
    expect(p, 1, "sha256 mismatch", "deleted")
    check(not e.leftovers(), "left behind: %s" % e.leftovers())
    expect(e.fetch(), 0)
    assert_complete(e, files)


def case_corrupt(e, files):
    e.hub.faults[SHARD2] = "corrupt"
    p = e.fetch()
    expect(p, 1, "sha256 mismatch", "deleted", SHARD2)
    check(len(p.stderr.strip().splitlines()) == 1, "not one line: %r" % p.stderr)
    check(not os.path.exists(os.path.join(e.model, SHARD2)), "corrupt file under final name")
    check(not e.leftovers(), "left behind: %s" % e.leftovers())


def case_corrupt_small(e, files):
    """Non-LFS files are checked by their git blob sha1."""
    e.hub.faults["config.json"] = "corrupt"
    p = e.fetch()
    expect(p, 1, "git blob sha1 mismatch", "config.json")
    check(not os.path.exists(os.path.join(e.model, "config.json")), "bad config.json kept")
    check(not e.leftovers(), "left behind: %s" % e.leftovers())


def case_extra(e, files):
    e.hub.faults[SHARD2] = "extra"
    p = e.fetch()
    expect(p, 1, "more than the")
    check(not os.path.exists(os.path.join(e.model, SHARD2)), "long file under final name")
    check(not e.leftovers(), "left behind: %s" % e.leftovers())


def case_notfound(e, files):
    e.hub.faults["tokenizer.json"] = "404"
    p = e.fetch()
    expect(p, 1, "HTTP 404", "tokenizer.json")
    check(len(p.stderr.strip().splitlines()) == 1, "not one line: %r" % p.stderr)
    check(not os.path.exists(os.path.join(e.model, "tokenizer.json")), "404 file exists")
    check(not e.leftovers(), "left behind: %s" % e.leftovers())


def case_repo_notfound(e, files):
    p = e.fetch("someone/NoSuchModel")
    expect(p, 1, "HTTP 404", "no such repository or revision")
    p = e.fetch("--revision", "nosuchbranch")
    expect(p, 1, "HTTP 404", "nosuchbranch")


def case_revision(e, files):
    """A branch is resolved to its commit first; files come from the commit."""
    p = e.fetch("--revision", "main")
    expect(p, 0)
    api = [r["path"] for r in e.hub.requests("api")]
    check(api[0] == "/api/models/%s/revision/main" % REPO, "api: %s" % api)
    check(api[1] == "/api/models/%s/tree/%s" % (REPO, e.hub.commit), "api: %s" % api)
    check(all(e.hub.commit in r["path"] for r in e.hub.requests("resolve")), "not by commit")
    assert_complete(e, files)


def case_stall(e, files):
    e.hub.faults[SHARD1] = "stall:0"
    p = e.fetch("--timeout", "2")
    expect(p, 1, "no data for 2 seconds")
    check(p.seconds < 15, "took %.1f s" % p.seconds)
    check(not os.path.exists(os.path.join(e.model, SHARD1)), "stalled file under final name")


def case_interrupt(e, files):
    e.hub.faults[SHARD1] = "stall:20000"
    env = dict(e.env)
    proc = subprocess.Popen([OCR2, "model", "fetch", "--no-check"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    part = os.path.join(e.model, ".incomplete", SHARD1 + ".part")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10:
        if os.path.exists(part) and os.path.getsize(part) == 20000:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    check(proc.returncode == 130, "exit %d after SIGINT: %s" % (proc.returncode, err))
    check("interrupted" in err, "stderr: %s" % err)
    check(os.path.getsize(part) == 20000, "the part was not kept for a resume")
    check(not os.path.exists(os.path.join(e.model, SHARD1)), "file under final name")
    del e.hub.faults[SHARD1]
    expect(e.fetch(), 0)
    ranges = [r["range"] for r in e.hub.requests("resolve") if r["path"].endswith(SHARD1)]
    check(ranges[-1] == "bytes=20000-", "no resume: %s" % ranges)
    assert_complete(e, files)


def case_progress(e, files):
    """On a TTY: a progress bar with bytes, rate and ETA, erased at the end."""
    import pty
    try:
        master, slave = pty.openpty()
    except OSError:
        return 77  # no pseudo-terminals here
    e.hub.faults[SHARD1] = "stall:60000"
    e.hub.stall_s = 1.5  # then the connection closes and the transfer resumes
    proc = subprocess.Popen([OCR2, "model", "fetch", "--no-check"], env=e.env,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=30)
    os.close(master)
    text = out.decode("utf-8", "replace")
    check(proc.returncode == 0, "exit %d: %s" % (proc.returncode, text))
    check("ETA" in text and "/s" in text and "%" in text and " / " in text,
          "no progress bar: %r" % text[-300:])
    check(text.endswith("\r\x1b[K"), "the bar was not erased: %r" % text[-60:])
    assert_complete(e, files)


def case_lock(e, files):
    """Two fetches into one directory: the second refuses at once."""
    e.hub.faults[SHARD1] = "stall:1000"
    proc = subprocess.Popen([OCR2, "model", "fetch", "--no-check"], env=e.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    part = os.path.join(e.model, ".incomplete", SHARD1 + ".part")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10 and not (os.path.exists(part) and
                                              os.path.getsize(part) == 1000):
        time.sleep(0.05)
    p = e.fetch()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=20)
    expect(p, 1, "another 'ocr2 model fetch' is working here")
    check(os.path.getsize(part) == 1000, "the second fetch touched the part")


def case_redirect(e, files):
    e.hub.redirect = "path"
    expect(e.fetch(), 0)
    cdn = [r for r in e.hub.requests() if r["path"].startswith("/cdn/")]
    check(len(cdn) == len(WANTED), "redirects not followed: %d" % len(cdn))
    assert_complete(e, files)


def case_token(e, files):
    """HF_TOKEN goes to the endpoint as a bearer token, never to the host a
    redirect leads to."""
    e.hub.redirect = "host"
    p = e.fetch(env={"HF_TOKEN": "hf_secret123"})
    expect(p, 0)
    assert_complete(e, files)
    main = [r for r in e.hub.requests() if r["server"] == 0]
    other = [r for r in e.hub.requests() if r["server"] == 1]
    check(main and all(r["auth"] == "Bearer hf_secret123" for r in main),
          "token not sent to the endpoint: %s" % [r["auth"] for r in main])
    check(len(other) == len(WANTED) and all(r["auth"] is None for r in other),
          "token leaked across hosts: %s" % [r["auth"] for r in other])
    check("hf_secret123" not in p.stdout + p.stderr, "token printed")


def case_token_file(e, files):
    os.makedirs(os.path.join(e.tmp, "hf"))
    with open(os.path.join(e.tmp, "hf", "token"), "w") as f:
        f.write("hf_fromfile\n")
    expect(e.fetch(), 0)
    check(all(r["auth"] == "Bearer hf_fromfile" for r in e.hub.requests()), "token file unused")


def case_proxy(e, files):
    """http_proxy is honoured (libcurl's environment handling): the endpoint's
    host is never resolved here, the proxy (the fake hub's second port) gets
    every request with the absolute URL."""
    proxy = "http://127.0.0.1:%d" % e.hub.servers[1].server_address[1]
    p = e.fetch(env={"HF_ENDPOINT": "http://hub.invalid", "http_proxy": proxy, "no_proxy": ""})
    expect(p, 0)
    assert_complete(e, files)
    reqs = e.hub.requests()
    check(reqs and all(r["server"] == 1 for r in reqs), "not through the proxy: %s" % reqs)


def case_offline(e, files):
    p = e.fetch("--offline")
    expect(p, 1, "no record of a download")
    check(not e.hub.requests(), "--offline touched the network")
    expect(e.fetch(), 0)
    n = len(e.hub.requests())
    p = e.fetch("--offline")
    expect(p, 0)
    check("all verified" in p.stdout, p.stdout)
    os.unlink(os.path.join(e.model, "tokenizer.json"))
    with open(os.path.join(e.model, SHARD2), "r+b") as f:
        f.seek(64)
        f.write(b"\xff")
    p = e.fetch("--offline")
    expect(p, 1, "2 of 6 files missing or bad")
    check("tokenizer.json: missing" in p.stdout and SHARD2 + ": does not match" in p.stdout,
          "offline listing: %r" % p.stdout)
    p = e.fetch(env={"HF_HUB_OFFLINE": "1"})
    expect(p, 1, "missing or bad")
    check(len(e.hub.requests()) == n, "--offline / HF_HUB_OFFLINE touched the network")
    p = e.run("list")
    check("incomplete" in p.stdout, "model list: %r" % p.stdout)


def case_pages(e, files):
    e.hub.page_size = 3
    expect(e.fetch(), 0)
    trees = [r for r in e.hub.requests("api") if "/tree/" in r["path"]]
    check(len(trees) == 3, "tree pages requested: %d" % len(trees))
    assert_complete(e, files)


def case_hostile(e, files):
    e.hub.extra_entries.append({"type": "file", "path": "../../evil.safetensors", "size": 4,
                                "oid": "0" * 40, "lfs": {"oid": "0" * 64, "size": 4}})
    p = e.fetch()
    expect(p, 1, "refusing the file name")
    check(not os.path.exists(os.path.join(e.tmp, "data", "ocr2", "evil.safetensors")), "escaped")


def case_missing_needed(e, files):
    del e.hub.files["tokenizer.json"]
    p = e.fetch()
    expect(p, 1, "has no tokenizer.json")


def case_nonet(e, files):
    p = e.fetch("--timeout", "5", env={"HF_ENDPOINT": "http://no-such-host.invalid"})
    expect(p, 1, "could not resolve host (no network?)")
    check(len(p.stderr.strip().splitlines()) == 1, "not one line: %r" % p.stderr)
    check(not os.path.exists(e.model), "a failed fetch left a directory")


def case_dir(e, files):
    """-m DIR, and NAME → its own directory under the models root."""
    d = os.path.join(e.tmp, "elsewhere")
    expect(e.fetch("-m", d), 0)
    check(os.path.isfile(os.path.join(d, SHARD1)), "-m ignored")
    check(not os.path.exists(e.model), "-m ignored")
    expect(e.fetch(REPO.replace("deepseek-ai", "deepseek-ai"), "-m", d), 0)
    p = e.fetch("a/b", "c/d")
    expect(p, 2, "one model at a time")


def case_usage(e, files):
    expect(e.fetch("--timeout", "x"), 2, "--timeout")
    expect(e.fetch("--bogus"), 2, "unknown")
    expect(e.fetch("notarepo"), 2, "owner/name")
    p = e.run("fetch", "--help")
    check(p.returncode == 0 and "usage" in p.stdout, "--help")
    check(not e.hub.requests(), "usage errors touched the network")


def case_check(e, files):
    """The model check runs after a fetch: the fake model is not a DeepSeek-OCR 2
    model, so it fails with exit 3 once the check exists; the tiny model from
    testdata/models (when made) passes it."""
    p = e.run("fetch")
    expect(p, 3, "model check failed")
    check(len(p.stderr.strip().splitlines()) == 1, "not one line: %r" % p.stderr)
    assert_complete(e, files)  # the files stay: they are what the hub publishes
    tiny = os.path.join(os.environ.get("TESTDATA", "testdata"), "models", "tiny")
    if not os.path.isfile(os.path.join(tiny, "config.json")):
        return 77
    hub = fakehub.Hub(tiny, "tiny/Tiny")
    hub.start(60)
    d = os.path.join(e.tmp, "tiny")
    p = e.run("fetch", "tiny/Tiny", "-m", d, env={"HF_ENDPOINT": hub.url})
    expect(p, 0)
    check("model check ok" in p.stdout, "stdout: %r" % p.stdout)
    hub.stop()


def hf_hash(name, data):
    """The hub's etag, which names a blob in the Hugging Face cache: sha256 for
    LFS files, the git blob id for the others (fakehub.is_lfs)."""
    if fakehub.is_lfs(name):
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def hf_layout(e, files, commit, record=True):
    """Checks the cache layout huggingface_hub reads: blobs/HASH, snapshot
    entries linked to ../../blobs/HASH, refs/main. Returns the snapshot."""
    rd = os.path.join(e.tmp, "hf", "hub", "models--deepseek-ai--DeepSeek-OCR-2")
    snap = os.path.join(rd, "snapshots", commit)
    for name in WANTED:
        link = os.path.join(snap, name)
        h = hf_hash(name, files[name])
        check(os.path.islink(link), "%s is not a link" % link)
        check(os.readlink(link) == "../../blobs/" + h, "%s -> %s" % (link, os.readlink(link)))
        check(sha256(os.path.join(rd, "blobs", h)) == hashlib.sha256(files[name]).hexdigest(),
              "blob of %s: wrong bytes" % name)
    for name in UNWANTED:
        check(not os.path.exists(os.path.join(snap, name)), "%s was fetched" % name)
    with open(os.path.join(rd, "refs", "main")) as f:
        check(f.read() == commit, "refs/main is not %s" % commit)
    check(not [b for b in os.listdir(os.path.join(rd, "blobs")) if b.endswith(".incomplete")],
          "a blob was left incomplete")
    check(os.path.isfile(os.path.join(snap, ".ocr2-fetch.json")) == record, "the record")
    return snap


def case_hf_cache(e, files):
    """--hf-cache writes huggingface_hub's layout; ocr2 finds it without -m,
    model list shows it, -m takes its name, --offline verifies it."""
    commit = pinned()
    p = e.fetch("--hf-cache")
    expect(p, 0)
    snap = hf_layout(e, files, commit)
    check(snap in p.stdout and "6 downloaded" in p.stdout, "stdout: %r" % p.stdout)
    check(not os.path.exists(e.model), "ocr2's own directory was written")
    # again: nothing downloaded, the blobs are there
    n = len(e.hub.requests("resolve"))
    p = e.fetch("--hf-cache")
    expect(p, 0)
    check("0 downloaded, 6 already there" in p.stdout, "second fetch: %r" % p.stdout)
    check(len(e.hub.requests("resolve")) == n, "second fetch downloaded")
    p = e.fetch("--hf-cache", "--offline")
    expect(p, 0)
    check("all verified" in p.stdout and snap in p.stdout, "offline: %r" % p.stdout)
    # model list: the snapshot, complete, main, by its name
    p = e.run("list")
    name = "hf:%s@%s" % (REPO, commit[:12])
    check(p.returncode == 0 and name in p.stdout and "complete" in p.stdout
          and "incomplete" not in p.stdout and "(main)" in p.stdout and snap in p.stdout,
          "model list: %r %r" % (p.stdout, p.stderr))
    p = e.run("list", "--names")
    check(p.stdout.split() == [name], "--names: %r" % p.stdout)
    # found without -m (no $OCR2_MODEL, no ocr2 directory), and by -m NAME:
    # the fake model fails the check, and the message names the snapshot
    for args in ((), ("-m", name), ("-m", "hf:" + REPO), ("-m", "hf:%s@%s" % (REPO, commit[:7]))):
        p = e.run("check", *args)
        check(p.returncode == 3 and snap in p.stderr, "check %s: %r" % (args, p.stderr))
    # ocr2's own directory comes first once it exists
    expect(e.fetch(), 0)
    p = e.run("check")
    check(p.returncode == 3 and e.model in p.stderr and snap not in p.stderr,
          "check with both: %r" % p.stderr)


def case_hf_python(e, files):
    """A cache written by huggingface_hub (no record of ocr2's): found, listed
    complete; a truncated blob is incomplete, naming the file, never complete;
    an ocr2 directory without a record likewise."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    rd = os.path.join(e.tmp, "hf", "hub", "models--deepseek-ai--DeepSeek-OCR-2")
    snap = os.path.join(rd, "snapshots", commit)
    os.makedirs(snap)
    os.makedirs(os.path.join(rd, "blobs"))
    os.makedirs(os.path.join(rd, "refs"))
    for name in WANTED + ["README.md"]:
        h = hf_hash(name, files[name])
        with open(os.path.join(rd, "blobs", h), "wb") as f:
            f.write(files[name])
        os.symlink("../../blobs/" + h, os.path.join(snap, name))
    with open(os.path.join(rd, "refs", "main"), "w") as f:
        f.write(commit)
    name = "hf:%s@%s" % (REPO, commit[:12])
    p = e.run("list")
    check(name in p.stdout and " complete" in p.stdout and "incomplete" not in p.stdout,
          "model list: %r %r" % (p.stdout, p.stderr))
    p = e.run("check")
    check(p.returncode == 3 and snap in p.stderr, "found without -m: %r" % p.stderr)
    # truncate a shard's blob: the safetensors header says it is short
    with open(os.path.join(snap, SHARD2), "r+b") as f:
        f.truncate(len(files[SHARD2]) - 1000)
    p = e.run("list")
    line = [l for l in p.stdout.splitlines() if name in l]
    check(line and "incomplete" in line[0] and SHARD2 in line[0] and "truncated" in line[0],
          "truncated blob: %r" % p.stdout)
    # an ocr2 directory without a record, truncated: the same verdict
    broken = os.path.join(e.tmp, "data", "ocr2", "models", "broken")
    os.makedirs(broken)
    for n in WANTED:
        with open(os.path.join(broken, n), "wb") as f:
            f.write(files[n] if n != SHARD1 else files[n][:len(files[n]) // 2])
    p = e.run("list")
    line = [l for l in p.stdout.splitlines() if l.startswith("broken ")]
    check(line and "incomplete" in line[0] and SHARD1 in line[0] and " complete" not in line[0],
          "broken: %r" % p.stdout)
    # -m takes a listed name: the error is about the model, not "not found"
    p = e.run("info", "-m", "broken")
    check(p.returncode == 3 and broken in p.stderr and "not found" not in p.stderr,
          "info -m broken: %r" % p.stderr)


def pinned():
    """The commit `ocr2 model fetch` downloads by default (from --help)."""
    out = subprocess.run([OCR2, "model", "fetch", "--help"], capture_output=True, text=True).stdout
    m = re.search(r"at commit ([0-9a-f]{40})", out)
    if not m:
        raise SystemExit("FAIL: --help names no pinned commit: %r" % out)
    return m.group(1)


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: test_fetch.py {%s}" % ",".join(sorted(CASES)), file=sys.stderr)
        return 2
    signal.alarm(120)  # nothing here may hang: the servers die with us
    with tempfile.TemporaryDirectory(prefix="ocr2-fetch-") as tmp:
        probe = subprocess.run([OCR2, "model", "fetch", "--no-check", "-m", tmp + "/m"],
                               capture_output=True, text=True,
                               env=dict(os.environ, HF_ENDPOINT="http://127.0.0.1:9"))
    if "without download support" in probe.stderr:
        print("SKIP %s: built without libcurl (-Dfetch=disabled)" % sys.argv[1])
        return 77
    with tempfile.TemporaryDirectory(prefix="ocr2-fetch-") as tmp:
        files = make_model(os.path.join(tmp, "hub"))
        hub = fakehub.Hub(os.path.join(tmp, "hub"), REPO, commit=pinned())
        hub.stall_s = 25
        hub.start(lifetime=100)
        e = Env(tmp, hub)
        try:
            rc = CASES[sys.argv[1]](e, files)
        except Fail as f:
            print("FAIL %s: %s" % (sys.argv[1], f))
            return 1
        finally:
            hub.stop()
    if rc == 77:
        print("SKIP %s" % sys.argv[1])
        return 77
    print("PASS %s" % sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
