#!/usr/bin/python3
"""A fake Hugging Face hub for the `ocr2 model fetch` tests: loopback only,
stdlib only, and it stops by itself (a lifetime limit).

It serves one repository from a local directory, the way the hub does:
    GET /api/models/{repo}/revision/{rev}  -> {"sha": COMMIT, "siblings": [...]}
    GET /api/models/{repo}/tree/{rev}      -> [{type, path, size, oid, lfs?}, ...]
        (pages of `page_size` entries, linked by `Link: <url>; rel="next"`)
    GET /{repo}/resolve/{rev}/{path}       -> the file (Range: bytes=N- -> 206)
LFS files (*.safetensors, tokenizer.json) carry lfs.oid = sha256 of the
content; the others carry oid = git blob sha1 ("blob SIZE\\0" + content).

Faults, per file name (Hub.faults, or --fault NAME=KIND[:ARG] when run alone):
    404            the resolve URL answers 404
    corrupt        one byte in the middle is flipped
    cut:N          the first GET without Range sends N bytes, then closes
    stall:N        send the headers and N bytes, then sleep for Hub.stall_s
    norange        Range is ignored (200 with the whole file)
    extra          the body is one byte longer than the listing says
Hub.redirect: "path" answers resolve with 302 to /cdn/<sha>/<name> on the
same server, "host" with 302 to the same path on a second server (another
port: another origin, so a token must not follow).
Every request is appended to Hub.log as a dict (method, path, range, auth,
server).

Standalone: fakehub.py --root DIR --repo OWNER/NAME --port-file F [--lifetime S]
writes the chosen port to F and serves until the lifetime ends.
"""
import argparse
import hashlib
import http.server
import json
import os
import socketserver
import sys
import threading
import time
import urllib.parse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def is_lfs(name):
    return name.endswith(".safetensors") or name == "tokenizer.json"


class Hub:
    def __init__(self, root, repo, commit=COMMIT, branches=("main",)):
        self.root = root
        self.repo = repo
        self.commit = commit
        self.branches = set(branches)
        self.faults = {}
        self.redirect = None
        self.page_size = 1000
        self.stall_s = 30
        self.extra_entries = []  # raw listing entries added as is (hostile names)
        self.log = []
        self.lock = threading.Lock()
        self.cut_done = set()
        self.servers = []
        self.files = {}
        for name in sorted(os.listdir(root)):
            p = os.path.join(root, name)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    data = f.read()
                self.files[name] = data

    def entry(self, name):
        data = self.files[name]
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        e = {"type": "file", "oid": blob, "size": len(data), "path": name}
        if is_lfs(name):
            pointer = ("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n"
                       % (hashlib.sha256(data).hexdigest(), len(data))).encode()
            e["oid"] = hashlib.sha1(b"blob %d\0" % len(pointer) + pointer).hexdigest()
            e["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data),
                        "pointerSize": len(pointer)}
        return e

    def start(self, lifetime=60.0):
        """Starts the main server (and a second one for redirect="host") on
        127.0.0.1, in daemon threads; both shut down after `lifetime` s."""
        for i in range(2):
            srv = _Server(("127.0.0.1", 0), _Handler)
            srv.hub = self
            srv.index = i
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            self.servers.append(srv)
        t = threading.Timer(lifetime, self.stop)
        t.daemon = True
        t.start()
        return self.port

    @property
    def port(self):
        return self.servers[0].server_address[1]

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        for s in self.servers:
            threading.Thread(target=s.shutdown, daemon=True).start()

    def requests(self, kind=None):
        with self.lock:
            log = list(self.log)
        if kind == "resolve":
            return [r for r in log if "/resolve/" in r["path"] or r["path"].startswith("/cdn/")]
        if kind == "api":
            return [r for r in log if r["path"].startswith("/api/")]
        return log


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up (cut, stall, interrupt tests) are expected


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, obj, extra=()):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_error_code(self, code):
        body = b'{"error": "fake hub"}'
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):
        self.send_error_code(405)

    def do_GET(self):
        hub = self.server.hub
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        with hub.lock:
            hub.log.append({"method": "GET", "path": path, "query": url.query,
                            "range": self.headers.get("Range"),
                            "auth": self.headers.get("Authorization"),
                            "agent": self.headers.get("User-Agent"),
                            "server": self.server.index})
        api = "/api/models/%s/" % hub.repo
        res = "/%s/resolve/" % hub.repo
        if path.startswith(api + "revision/"):
            rev = path[len(api + "revision/"):]
            if rev not in hub.branches and rev != hub.commit:
                return self.send_error_code(404)
            return self.send_json({"id": hub.repo, "sha": hub.commit,
                                   "siblings": [{"rfilename": n} for n in hub.files]})
        if path.startswith(api + "tree/"):
            rev = path[len(api + "tree/"):]
            if rev not in hub.branches and rev != hub.commit:
                return self.send_error_code(404)
            entries = [hub.entry(n) for n in hub.files] + hub.extra_entries
            q = urllib.parse.parse_qs(url.query)
            start = int(q.get("cursor", ["0"])[0])
            page = entries[start:start + hub.page_size]
            extra = []
            if start + hub.page_size < len(entries):
                nxt = "%s?cursor=%d" % (api + "tree/" + rev, start + hub.page_size)
                extra.append(("Link", '<http://127.0.0.1:%d%s>; rel="next"'
                              % (hub.port, nxt)))
            return self.send_json(page, extra)
        if path.startswith(res):
            rest = path[len(res):]
            rev, _, name = rest.partition("/")
            if (rev not in hub.branches and rev != hub.commit) or name not in hub.files:
                return self.send_error_code(404)
            if hub.redirect and self.server.index == 0:
                if hub.redirect == "path":
                    loc = "/cdn/%s/%s" % (hashlib.sha256(hub.files[name]).hexdigest()[:16], name)
                else:
                    loc = "http://127.0.0.1:%d%s" % (hub.servers[1].server_address[1], path)
                self.send_response(302)
                self.send_header("Location", loc)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            return self.send_file(name)
        if path.startswith("/cdn/"):
            name = path.rsplit("/", 1)[-1]
            if name not in hub.files:
                return self.send_error_code(404)
            return self.send_file(name)
        return self.send_error_code(404)

    def send_file(self, name):
        hub = self.server.hub
        data = hub.files[name]
        fault = hub.faults.get(name, "")
        kind, _, arg = fault.partition(":")
        if kind == "404":
            return self.send_error_code(404)
        if kind == "corrupt":
            i = len(data) // 2
            data = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]
        if kind == "extra":
            data = data + b"\0"
        start = 0
        rng = self.headers.get("Range")
        if rng and kind != "norange":
            if not rng.startswith("bytes=") or not rng.endswith("-"):
                return self.send_error_code(416)
            start = int(rng[6:-1])
            if start >= len(data):
                return self.send_error_code(416)
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if kind == "cut" and not rng:
            with hub.lock:
                first = name not in hub.cut_done
                hub.cut_done.add(name)
            if first:
                self.wfile.write(body[:int(arg)])
                self.wfile.flush()
                self.close_connection = True
                return
        if kind == "stall":
            self.wfile.write(body[:int(arg or 0)])
            self.wfile.flush()
            time.sleep(hub.stall_s)
            self.close_connection = True
            return
        self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--repo", default="deepseek-ai/DeepSeek-OCR-2")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--lifetime", type=float, default=60)
    ap.add_argument("--fault", action="append", default=[])
    ap.add_argument("--redirect", choices=["path", "host"])
    a = ap.parse_args()
    hub = Hub(a.root, a.repo)
    for f in a.fault:
        name, _, kind = f.partition("=")
        hub.faults[name] = kind
    hub.redirect = a.redirect
    hub.start(a.lifetime)
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % hub.port)
    os.rename(a.port_file + ".tmp", a.port_file)
    time.sleep(a.lifetime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
