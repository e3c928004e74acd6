#!/usr/bin/python3
"""test_archive_cli.py - `ocr2 scan -f pdf`, `-f hocr`, `--draw` and
`--skip-text` end to end (issue 17), on real documents: the bzip2 manual
(testdata/cache), the G4 fax (testdata/docs/tiff-g4.tif) and a JPEG photo of
a page (tests/cmd/fixtures/photo.jpg), checked with qpdf, poppler-utils,
pikepdf, Pillow, xml.dom.minidom and OCRmyPDF's HocrTransform.

    test_archive_cli.py          the stand-in model (canned text, failure
                                 knobs) and no model at all (--skip-text)
    test_archive_cli.py tiny     the tiny test models' real output (suite model)

Needs $OCR2, $CMD_TESTS, $TESTDATA, $TESTCACHE, $STAND_IN_BUILD (meson sets them).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.dom.minidom

OCR2 = os.environ["OCR2"]
FIX = os.path.join(os.environ["CMD_TESTS"], "fixtures")
CANNED = os.path.join(os.environ["CMD_TESTS"], "canned")
DOCS = os.path.join(os.environ["TESTDATA"], "docs")
BZIP2 = os.path.join(os.environ["TESTCACHE"], "bzip2-manual.pdf")
G4 = os.path.join(DOCS, "tiff-g4.tif")
MULTI = os.path.join(DOCS, "tiff-multi.tif")
PHOTO = os.path.join(FIX, "photo.jpg")
TINY = os.path.join(os.environ["TESTDATA"], "models", "tiny")
STAND_IN = os.environ.get("STAND_IN_BUILD") == "1"

# words of canned/doc.raw as the text layer has them; what must not be text
DOC_WORDS = ["quoted", "title", "backslash", "中文", "emoji", "😀", "control", "\\coloneqq"]
SPECIAL = ["<|ref|>", "<|det|>", "<table>", "<td>", "[[50"]
LATIN_WORDS = ["Quarterly", "Report", "quick", "brown", "fox", "jumps", "lazy", "dog", "alpha",
               "beta", "gamma", "delta"]
failures = []
T = None


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL", msg)
    return cond


def env_for(stand_in=None, **extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith("OCR2_STAND_IN")}
    e["OCR2_MODEL"] = os.path.join(T, "no-model")
    if stand_in:
        e["OCR2_STAND_IN"] = os.path.join(CANNED, stand_in) if "/" not in stand_in else stand_in
    e.update({k: str(v) for k, v in extra.items()})
    return e


def scan(args, stand_in="doc.raw", stdin=None, **extra):
    """ocr2 scan ARGS; returns (rc, stdout bytes, stderr text)."""
    p = subprocess.run([OCR2, "scan"] + args, env=env_for(stand_in, **extra),
                       stdin=stdin if stdin is not None else subprocess.DEVNULL,
                       capture_output=True)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def expect(want_rc, args, what, **kw):
    rc, out, err = scan(args, **kw)
    check(rc == want_rc, f"{what}: exit {rc}, wanted {want_rc}: {err[-300:]}")
    return out, err


def run(args):
    p = subprocess.run(args, capture_output=True)
    if p.returncode != 0:
        raise SystemExit(f"FAIL {' '.join(args)}: rc {p.returncode}: {p.stderr.decode()[-300:]}")
    return p.stdout.decode(errors="replace")


def strip_bidi(s):
    return re.sub("[\u202a-\u202e\u2066-\u2069]", "", s)


def pdftext(path, page=None):
    args = ["pdftotext", "-enc", "UTF-8", "-raw"]
    if page:
        args += ["-f", str(page), "-l", str(page)]
    return strip_bidi(run(args + [path, "-"]))


def qpdf_check(path, what):
    p = subprocess.run(["qpdf", "--check", path], capture_output=True)
    out = p.stdout.decode() + p.stderr.decode()
    check(p.returncode == 0 and "WARNING" not in out and "No syntax or stream encoding errors" in out,
          f"{what}: qpdf --check: rc {p.returncode}: {out[-300:]}")


def n_pages(path):
    return int(re.search(r"Pages: +(\d+)", run(["pdfinfo", path])).group(1))


def contents(pdf, i):
    import pikepdf
    c = pdf.pages[i].obj.get("/Contents")
    if c is None:
        return []
    items = list(c) if isinstance(c, pikepdf.Array) else [c]
    return [s.read_raw_bytes() for s in items]


def no_temps(d, what):
    left = [f for f in os.listdir(d) if ".tmp" in f] if os.path.isdir(d) else []
    check(not left, f"{what}: temporaries left: {left}")


def hocr_parse(data, what):
    try:
        return xml.dom.minidom.parseString(data)
    except Exception as e:  # noqa: BLE001 - any parse error is the failure
        check(False, f"{what}: hOCR is not well-formed XML: {e}")
        return None


def by_class(dom, cls):
    return [e for tag in ("div", "p", "span") for e in dom.getElementsByTagName(tag)
            if e.getAttribute("class") == cls]


def hocr_words(el):
    return " ".join(e.firstChild.data for e in by_class(el, "ocrx_word") if e.firstChild)


def png_size(path):
    from PIL import Image
    with Image.open(path) as im:
        return im.size


# ---- with the stand-in model ----------------------------------------------------


def test_usage():
    """-f pdf to a terminal without -o: a one-line usage error; bad formats."""
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(env_for("doc.raw"))
        os.execv(OCR2, [OCR2, "scan", "-f", "pdf", PHOTO])
    got = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    _, st = os.waitpid(pid, 0)
    rc = os.waitstatus_to_exitcode(st)
    lines = got.decode(errors="replace").strip().splitlines()
    check(rc == 2 and len(lines) == 1 and "-o" in lines[0] and "pdf" in lines[0],
          f"-f pdf to a terminal: exit {rc}, wanted 2 and one line: {lines}")
    # a terminal for stdout but -o given: fine (script(1) gives the terminal)
    out = os.path.join(T, "tty.pdf")
    p = subprocess.run(["script", "-qec", f"'{OCR2}' scan -q -f pdf -o '{out}' '{PHOTO}'", "/dev/null"],
                       env=env_for("doc.raw"), capture_output=True)
    check(p.returncode == 0 and os.path.getsize(out) > 0, f"-f pdf -o FILE on a terminal: exit {p.returncode}")
    expect(2, ["-f", "docx", PHOTO], "-f docx")
    _, err = expect(2, ["-f", "pdf", PHOTO, G4], "two inputs as one PDF on stdout")
    check(err.count("\n") == 1, f"two inputs to stdout: not one line: {err!r}")


def test_pdf_from_pdf():
    """The bzip2 manual: pages 1 and 3 read, the 2nd reading (page 3) fails;
    every page kept, page 1 gains the OCR text and keeps its own, page 3 and
    the unselected pages are unchanged."""
    import pikepdf
    out = os.path.join(T, "bzip2.pdf")
    _, err = expect(1, ["-f", "pdf", "-p", "1,3", "-o", out, BZIP2], "bzip2 -f pdf, page 3 failing",
                    OCR2_STAND_IN_FAIL=2)
    check("page 3:" in err, f"the failed page is reported: {err!r}")
    qpdf_check(out, "bzip2 -f pdf")
    check(n_pages(out) == 38, "38 pages: -p keeps the pages it does not select")
    p1 = pdftext(out, 1)
    for w in DOC_WORDS:
        check(w in p1, f"bzip2 -f pdf page 1: pdftotext finds the OCR text {w!r}")
    for s in SPECIAL:
        check(s not in p1, f"bzip2 -f pdf page 1: {s!r} is not text")
    own = pdftext(BZIP2, 1).strip()
    check(own and own in p1, "bzip2 -f pdf page 1: the page's own text is kept")
    for page in (2, 3, 4, 38):
        check(pdftext(out, page) == pdftext(BZIP2, page), f"bzip2 -f pdf page {page}: text unchanged")
    src, res = pikepdf.open(BZIP2), pikepdf.open(out)
    check(contents(res, 0)[1:] == contents(src, 0), "page 1: own content streams kept after the layer")
    for i in (1, 2, 37):
        check(contents(res, i) == contents(src, i), f"page {i + 1}: content unchanged")
    check(len(res.pages[2].obj.get("/Annots", [])) == 96, "page 3 keeps its 96 links")
    no_temps(T, "bzip2 -f pdf")

    # a truncated page is kept unchanged too
    out = os.path.join(T, "bzip2-trunc.pdf")
    _, err = expect(1, ["-f", "pdf", "-p", "1", "--max-tokens", "40", "-o", out, BZIP2], "truncated page")
    check("truncated" in err, f"truncated page reported: {err!r}")
    qpdf_check(out, "truncated -f pdf")
    check(pdftext(out, 1) == pdftext(BZIP2, 1), "truncated page 1: unchanged")

    # standard output gets the file's bytes (deterministic output)
    stdout, _ = expect(0, ["-f", "pdf", "-p", "2", BZIP2], "-f pdf to stdout")
    again = os.path.join(T, "bzip2-p2.pdf")
    expect(0, ["-f", "pdf", "-p", "2", "-o", again, BZIP2], "-f pdf -o")
    with open(again, "rb") as f:
        check(stdout == f.read(), "-f pdf: stdout bytes equal the -o file's")
    # standard input as the source
    with open(BZIP2, "rb") as f:
        stdout2, _ = expect(0, ["-f", "pdf", "-p", "2", "-"], "-f pdf from stdin", stdin=f)
    check(stdout2[:5] == b"%PDF-" and len(stdout2) > 100000, "-f pdf from stdin writes the PDF")


def test_pdf_from_images():
    """The G4 fax stays CCITT, the JPEG photo is embedded byte for byte, each
    with the OCR text over it; a TIFF page that fails has no text; -p keeps
    every TIFF page."""
    import pikepdf
    out = os.path.join(T, "fax.pdf")
    expect(0, ["-f", "pdf", "-o", out, G4], "G4 fax -f pdf")
    qpdf_check(out, "G4 -f pdf")
    lst = run(["pdfimages", "-list", out]).splitlines()[2:]
    f = lst[0].split() if lst else []
    check(f[3:5] == ["160", "96"] and f[8] == "ccitt", f"G4 fax: full resolution, CCITT: {lst}")
    txt = pdftext(out)
    check(all(w in txt for w in DOC_WORDS), f"G4 -f pdf: the OCR text: {txt!r}")
    check(os.path.getsize(out) < os.path.getsize(G4) + 12000, f"G4 fax stays small: {os.path.getsize(out)} bytes")

    # a real fax: sized by its own resolution (204 x 196 dpi), about the TIFF's size
    fax = os.path.join(os.environ["TESTCACHE"], "viewfax.tif")
    out = os.path.join(T, "viewfax.pdf")
    expect(0, ["-f", "pdf", "-o", out, fax], "viewfax -f pdf")
    qpdf_check(out, "viewfax -f pdf")
    sz = re.search(r"Page size: +([\d.]+) x ([\d.]+)", run(["pdfinfo", out]))
    check(abs(float(sz.group(1)) - 1728 * 72 / 204) < 0.01 and abs(float(sz.group(2)) - 2292 * 72 / 196) < 0.01,
          f"viewfax: page sized by its resolution: {sz.groups()}")
    check(os.path.getsize(out) < 1.25 * os.path.getsize(fax), "viewfax: the G4 fax stays small")

    out = os.path.join(T, "photo.pdf")
    expect(0, ["-f", "pdf", "-o", out, PHOTO], "photo -f pdf")
    qpdf_check(out, "photo -f pdf")
    pdf = pikepdf.open(out)
    img = next(iter(pdf.pages[0].images.values()))
    with open(PHOTO, "rb") as fh:
        check(img.read_raw_bytes() == fh.read(), "the JPEG is embedded without re-encoding")
    check(all(w in pdftext(out) for w in DOC_WORDS), "photo -f pdf: the OCR text")
    # without a resolution of its own the page is at 300 dpi: 80x60 px -> 19.2 x 14.4 pt
    check("19.2 x 14.4 pts" in run(["pdfinfo", out]), "photo page sized at the stated default of 300 dpi")

    out = os.path.join(T, "multi.pdf")
    _, err = expect(1, ["-f", "pdf", "-o", out, MULTI], "tiff-multi, page 2 failing", OCR2_STAND_IN_FAIL=2)
    qpdf_check(out, "tiff-multi -f pdf")
    check(n_pages(out) == 3, "tiff-multi: 3 pages")
    check("quoted" in pdftext(out, 1) and "quoted" in pdftext(out, 3) and pdftext(out, 2).strip() == "",
          "tiff-multi: the failed page 2 has the image and no text")
    pdf = pikepdf.open(out)
    check(len(pdf.pages[1].images) == 1, "tiff-multi: page 2 keeps its image")
    out = os.path.join(T, "multi-p2.pdf")
    expect(0, ["-f", "pdf", "-p", "2", "-o", out, MULTI], "tiff-multi -p 2")
    check(n_pages(out) == 3 and pdftext(out, 1).strip() == "" and "quoted" in pdftext(out, 2),
          "tiff-multi -p 2: every page kept, text on page 2 only")

    # every page failed: no output (a re-run tries again), nothing left behind
    out = os.path.join(T, "allfail", "photo.pdf")
    expect(1, ["-f", "pdf", "-o", out, PHOTO], "photo, its page failing", OCR2_STAND_IN_FAIL=1)
    check(not os.path.exists(out), "all pages failed: no PDF")
    no_temps(os.path.dirname(out), "all pages failed")

    # several inputs under -o DIR: names with .pdf; the input itself is never replaced
    d = os.path.join(T, "pdfs")
    expect(0, ["-f", "pdf", "-o", d + "/", PHOTO, G4], "two inputs -o DIR")
    # (the dot files are the done marks of ocr2-scan(1)'s resume)
    names = sorted(n for n in os.listdir(d) if not n.startswith("."))
    check(names == ["photo.pdf", "tiff-g4.pdf"], f"-o DIR names: {os.listdir(d)}")
    own = os.path.join(T, "own.pdf")
    shutil.copy(BZIP2, own)
    _, err = expect(1, ["-f", "pdf", "--force", "-p", "1", "-o", own, own], "-o the input itself")
    with open(own, "rb") as a, open(BZIP2, "rb") as b:
        check(a.read() == b.read(), "the input is not replaced by its own output")
    check("input itself" in err, f"-o the input: reported: {err!r}")


def test_pdf_interrupted():
    """SIGINT while a PDF is being built: exit 130, no PDF, no temporary."""
    d = os.path.join(T, "int")
    os.makedirs(d)
    p = subprocess.Popen([OCR2, "scan", "-q", "--batch", "1", "-f", "pdf", "-o", os.path.join(d, "m.pdf"), MULTI],
                         env=env_for("doc.raw", OCR2_STAND_IN_DELAY_MS=400), stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    rc = p.wait(timeout=20)
    check(rc == 130, f"SIGINT during -f pdf: exit {rc}")
    # no PDF and no temporary: only the journal of the finished pages, for the resume
    left = os.listdir(d)
    check(left in ([], [".m.pdf.ocr2-journal"]), f"SIGINT during -f pdf: files left: {left}")


def test_resume():
    """-f pdf and -f hocr interrupted mid-document, then run again: the
    journaled pages are taken back (their pictures rendered again, no model)
    and the output is byte-identical to an uninterrupted run's."""
    d = os.path.join(T, "resume")
    os.makedirs(d)
    for fmt in ("pdf", "hocr"):
        whole, part = os.path.join(d, "whole." + fmt), os.path.join(d, "part." + fmt)
        args = ["-q", "-f", fmt, "-p", "1-6"]
        expect(0, args + ["-o", whole, BZIP2], f"-f {fmt} uninterrupted")
        p = subprocess.Popen([OCR2, "scan", "--batch", "1"] + args + ["-o", part, BZIP2],
                             env=env_for("doc.raw", OCR2_STAND_IN_DELAY_MS=300),
                             stderr=subprocess.DEVNULL)
        time.sleep(1.2)
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=20)
        journal = os.path.join(d, ".part.%s.ocr2-journal" % fmt)
        check(rc == 130 and os.path.exists(journal) and not os.path.exists(part),
              f"-f {fmt} interrupted: exit {rc}, journal kept, no output")
        out, err = expect(0, ["-f", fmt, "-p", "1-6", "-o", part, BZIP2], f"-f {fmt} resumed")
        m = re.search(r"pages: (\d+) ok, 0 truncated, 0 failed, (\d+) skipped", err)
        check(m and int(m.group(2)) >= 1 and int(m.group(1)) + int(m.group(2)) == 6,
              f"-f {fmt} resumed: journaled pages taken back: {err!r}")
        with open(whole, "rb") as a, open(part, "rb") as b:
            check(a.read() == b.read(), f"-f {fmt} resumed: byte-identical to the whole run")
        check(not os.path.exists(journal), f"-f {fmt} resumed: journal removed")


def test_hocr():
    """hOCR of the bzip2 manual (page 2 failing), the fax and the photo:
    well-formed, one ocr_page per page read with the picture's bbox, the
    text as words, and OCRmyPDF's HocrTransform finds the words again."""
    out = os.path.join(T, "bzip2.hocr")
    expect(1, ["-f", "hocr", "-p", "1-3", "-o", out, BZIP2], "bzip2 -f hocr, page 2 failing",
           OCR2_STAND_IN_FAIL=2)
    with open(out, "rb") as f:
        data = f.read()
    dom = hocr_parse(data, "bzip2 -f hocr")
    if dom:
        pages = by_class(dom, "ocr_page")
        titles = [p.getAttribute("title") for p in pages]
        check(len(pages) == 3 and all("bbox 0 0 1224 1584" in t for t in titles) and
              [re.search(r"ppageno (\d+)", t).group(1) for t in titles] == ["0", "1", "2"],
              f"bzip2 hOCR: 3 pages of 1224x1584, ppageno 0-2: {titles}")
        w1, w2 = hocr_words(pages[0]), hocr_words(pages[1])
        check(all(w in w1 for w in DOC_WORDS), f"bzip2 hOCR page 1 words: {w1[:200]!r}")
        check(not any(s in w1 for s in SPECIAL), "bzip2 hOCR: no special tokens or tags as words")
        check(w2 == "", "bzip2 hOCR: the failed page 2 is empty")
        metas = {m.getAttribute("name"): m.getAttribute("content") for m in dom.getElementsByTagName("meta")}
        check("estimated" in metas.get("ocr2-estimated", ""), "hOCR metadata: estimated boxes")
    # standard output: the same document
    stdout, _ = expect(1, ["-f", "hocr", "-p", "1-3", BZIP2], "-f hocr to stdout", OCR2_STAND_IN_FAIL=2)
    check(stdout == data, "-f hocr: stdout equals the -o file")
    # a truncated page keeps its text, as in markdown and json
    stdout, _ = expect(1, ["-f", "hocr", "--max-tokens", "90", PHOTO], "truncated -f hocr")
    dom = hocr_parse(stdout, "truncated hOCR")
    if dom:
        check("quoted" in hocr_words(dom), "truncated page: its text is in the hOCR")

    for src, size in ((G4, (160, 96)), (PHOTO, (80, 60))):
        stdout, _ = expect(0, ["-f", "hocr", src], f"{os.path.basename(src)} -f hocr")
        dom = hocr_parse(stdout, f"{src} hOCR")
        if dom:
            t = by_class(dom, "ocr_page")[0].getAttribute("title")
            check(f"bbox 0 0 {size[0]} {size[1]}" in t, f"{src}: ocr_page bbox {t}")
            check(all(w in hocr_words(dom) for w in DOC_WORDS), f"{src}: hOCR words")

    # OCRmyPDF's renderer reads it back (Latin: its Helvetica shows no other script)
    one = os.path.join(T, "latin.hocr")
    expect(0, ["-f", "hocr", "-p", "1", "-o", one, BZIP2], "latin -f hocr", stand_in="latin.raw")
    rendered = os.path.join(T, "latin-hocr.pdf")
    code = ("import sys\nfrom ocrmypdf.hocrtransform import HocrTransform\n"
            "HocrTransform(hocr_filename=sys.argv[1], dpi=144).to_pdf(out_filename=sys.argv[2], invisible_text=True)\n")
    p = subprocess.run(["/usr/bin/python3", "-c", code, one, rendered], capture_output=True)
    if check(p.returncode == 0, f"HocrTransform renders the hOCR: {p.stderr.decode()[-300:]}"):
        got = run(["pdftotext", rendered, "-"])
        for w in LATIN_WORDS:
            check(w in got, f"HocrTransform round trip finds {w!r}")


def test_draw():
    """--draw: a PNG per page read, the page's size, named NAME-PAGE.png."""
    from PIL import Image
    d = os.path.join(T, "draw")
    expect(0, ["-f", "json", "--draw", d, PHOTO], "photo --draw")
    pic = os.path.join(d, "photo-1.png")
    check(os.path.exists(pic) and png_size(pic) == (80, 60), f"--draw photo-1.png 80x60: {os.listdir(d)}")
    run([OCR2, "render", "-o", os.path.join(T, "render"), PHOTO])
    plain = Image.open(os.path.join(T, "render", "photo-1.png")).convert("RGB")
    drawn = Image.open(pic).convert("RGB")
    # the title box's left edge, x = int(50/999*80), halfway down the box
    check(drawn.getpixel((3, 4)) != plain.getpixel((3, 4)) or drawn.getpixel((4, 4)) != plain.getpixel((4, 4)),
          "--draw: the title box is drawn")

    d = os.path.join(T, "draw-bz")
    expect(0, ["-p", "2,5", "-r", "72", "--draw", d, "-o", os.path.join(T, "bz.md"), BZIP2], "bzip2 --draw")
    check(sorted(os.listdir(d)) == ["bzip2-manual-2.png", "bzip2-manual-5.png"], f"bzip2 --draw names: {os.listdir(d)}")
    for f in os.listdir(d):
        check(png_size(os.path.join(d, f)) == (612, 792), f"{f}: 612x792 at 72 dpi")
    # a directory walk mirrors the names; a failed page has no picture
    src = os.path.join(T, "tree", "sub")
    os.makedirs(src)
    shutil.copy(PHOTO, os.path.join(src, "p.jpg"))
    shutil.copy(MULTI, os.path.join(src, "m.tif"))
    d = os.path.join(T, "draw-tree")
    expect(1, ["-R", "--draw", d, "-o", os.path.join(T, "tree-out"), os.path.join(T, "tree")],
           "-R --draw", OCR2_STAND_IN_FAIL=2)
    got = sorted(os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs)
    check(len(got) == 3 and "sub/p-1.png" in got and sum(g.startswith("sub/m-") for g in got) == 2,
          f"-R --draw: mirrored names, one page failed: {got}")
    # standard input
    with open(PHOTO, "rb") as f:
        expect(0, ["--draw", os.path.join(T, "draw-stdin"), "-"], "--draw from stdin", stdin=f)
    check(os.listdir(os.path.join(T, "draw-stdin")) == ["stdin-1.png"], "--draw from stdin: stdin-1.png")


def test_skip_text():
    """--skip-text: the bzip2 manual needs no model at all; a scanned page
    without a model is exit 3; a mixed PDF takes the model for its scan only."""
    import pikepdf
    nomodel = ["-m", "/nonexistent", "--skip-text"]
    out, err = expect(0, nomodel + ["-f", "json", BZIP2], "--skip-text bzip2 without a model", stand_in=None)
    import json
    doc = json.loads(out)
    st = {p["status"] for p in doc["pages"]}
    p1 = doc["pages"][0]
    check(len(doc["pages"]) == 38 and st == {"text-layer"}, f"38 pages of status text-layer: {st}")
    check("Julian Seward" in p1["markdown"] and p1["tokens"] == 0 and p1["width"] == 1224 and
          p1["blocks"][0]["label"] == "" and p1["blocks"][0]["bbox"] is None and
          p1["markdown"] == p1["blocks"][0]["text"], f"page 1 text layer: {p1}")
    own = pdftext(BZIP2, 1).split()
    check(p1["markdown"].split() == own, "page 1: the PDF's own text, in poppler's reading order")
    # nothing on stderr but the summary line (no model message)
    check(err.count("\n") == 1 and err.startswith("ocr2 scan: 1 input; pages: 38 ok"),
          f"--skip-text, no model needed: stderr quiet: {err!r}")
    out, _ = expect(0, nomodel + ["-f", "jsonl", "-p", "1-3", BZIP2], "--skip-text jsonl", stand_in=None)
    lines = [json.loads(x) for x in out.decode().splitlines()]
    check([x["status"] for x in lines] == ["text-layer"] * 3, "jsonl: status text-layer")
    # the page object fits the schema in man ocr2-json (required fields, the status enum)
    man = open(os.path.join(os.environ["CMD_TESTS"], "..", "..", "man", "ocr2-json.5.scd")).read()
    schema = json.loads(re.search(r"# JSON SCHEMA.*?```\n(.*?)```", man, re.S).group(1))
    for x in lines:
        check(set(schema["required"]) <= set(x) <= set(schema["properties"]) and
              x["status"] in schema["properties"]["status"]["enum"],
              f"a text-layer page fits ocr2-json(5)'s schema: {sorted(x)}")
    out, _ = expect(0, nomodel + ["-p", "1,2", BZIP2], "--skip-text markdown", stand_in=None)
    md = out.decode()
    check(md.startswith("<!-- page 1: text layer -->\n\nbzip2 and libbzip2") and
          "\n\n<!-- page 2: text layer -->\n\n" in md, f"markdown page comments: {md[:120]!r}")
    out, _ = expect(0, nomodel + ["-f", "text", "-p", "1,2", BZIP2], "--skip-text text", stand_in=None)
    check(out.decode().count("\f\n") == 1 and "Julian Seward" in out.decode(), "text: the text, a form feed between")
    out, _ = expect(0, nomodel + ["-f", "raw", "-p", "1", BZIP2], "--skip-text raw", stand_in=None)
    check(out.decode().startswith("<!-- page 1: text layer -->\n\nbzip2"), "raw: the text under the comment")
    pdf = os.path.join(T, "skip.pdf")
    expect(0, nomodel + ["-f", "pdf", "-o", pdf, BZIP2], "--skip-text -f pdf", stand_in=None)
    qpdf_check(pdf, "--skip-text -f pdf")
    src, res = pikepdf.open(BZIP2), pikepdf.open(pdf)
    check(all(contents(src, i) == contents(res, i) for i in range(38)), "--skip-text -f pdf: every page unchanged")
    check(pdftext(pdf) == pdftext(BZIP2), "--skip-text -f pdf: the text unchanged")
    hocr = os.path.join(T, "skip.hocr")
    expect(0, nomodel + ["-f", "hocr", "-p", "1", "-o", hocr, BZIP2], "--skip-text -f hocr", stand_in=None)
    with open(hocr, "rb") as f:
        dom = hocr_parse(f.read(), "--skip-text hOCR")
    if dom:
        check("Julian Seward," in hocr_words(dom), "--skip-text hOCR: the page's own text")

    # a scanned page without a model: exit 3, reported once
    _, err = expect(3, nomodel + [G4], "--skip-text scanned page, no model", stand_in=None)
    check("/nonexistent" in err and err.count("\n") == 1, f"no model: one line naming it: {err!r}")
    # a PDF with a digital page and a scanned one
    scanpdf = os.path.join(T, "scanned.pdf")
    expect(1, ["-f", "pdf", "--max-tokens", "1", "-o", scanpdf, G4], "a scanned PDF (image, no text)")
    mixed = os.path.join(T, "mixed.pdf")
    run(["qpdf", "--empty", "--pages", BZIP2, "1", scanpdf, "1", "--", mixed])
    out, err = expect(3, nomodel + ["-f", "json", mixed], "mixed PDF, no model", stand_in=None)
    pages = json.loads(out)["pages"]
    check([p["status"] for p in pages] == ["text-layer", "error"] and "no model" in pages[1]["message"],
          f"mixed PDF without a model: {[(p['status'], p.get('message')) for p in pages]}")
    d = os.path.join(T, "mixed-out")
    _, err = expect(3, nomodel + ["-f", "pdf", "-o", d + "/", mixed], "mixed PDF to a file, no model", stand_in=None)
    check(not os.path.exists(os.path.join(d, "mixed.pdf")) and "not written" in err,
          f"mixed PDF without a model: no output (a re-run does it): {err!r}")
    no_temps(d, "mixed PDF without a model")
    out = os.path.join(T, "mixed-ocr.pdf")
    expect(0, ["--skip-text", "-f", "pdf", "-o", out, mixed], "mixed PDF with the model")
    qpdf_check(out, "mixed -f pdf")
    check(pdftext(out, 1) == pdftext(mixed, 1) and all(w in pdftext(out, 2) for w in DOC_WORDS),
          "mixed PDF: page 1 passes through, page 2 gets the OCR text")
    # -v says which pages skipped the model
    _, err = expect(0, nomodel + ["-v", "-p", "1", BZIP2], "--skip-text -v", stand_in=None)
    check("page 1: text layer" in err, f"-v names the text-layer page: {err!r}")


# ---- with the tiny models ---------------------------------------------------------


def words_of(raw):
    """The words of raw model output as the text layers keep them."""
    clean = re.sub(r"<｜[^\n]{0,160}?｜>|<\|[^\n]{0,48}?\|>|<image>", " ", raw)
    clean = re.sub(r"<\|ref\|>.*?<\|/det\|>", " ", clean)
    return set(clean.split())


def test_tiny():
    """The tiny model's real output (arbitrary tokens of every script,
    special tokens among them): its pages are truncated, so -f pdf keeps them
    without text and -f hocr carries their text; replayed through the
    stand-in as complete pages, the PDF gives every word back."""
    if not os.path.isdir(TINY):
        raise SystemExit("FAIL the tiny model is missing (testdata/make-tiny.py)")
    m = ["-m", TINY, "--max-tokens", "120"]
    for name, src, args in (("bzip2", BZIP2, ["-p", "1", "-r", "72"]), ("fax", G4, []), ("photo", PHOTO, [])):
        rawout, _ = expect(1, m + args + ["-f", "raw", src], f"tiny {name} raw", stand_in=None)
        rawout = rawout.decode(errors="replace")
        check(rawout.startswith("<!-- page 1: truncated -->\n\n"), f"tiny {name}: truncated: {rawout[:80]!r}")
        raw = re.sub(r"^<!-- page 1: truncated -->\n\n", "", rawout)
        words = words_of(raw)
        check(len(words) > 5, f"tiny {name}: the model wrote words ({len(words)})")

        hocr, _ = expect(1, m + args + ["-f", "hocr", src], f"tiny {name} hocr", stand_in=None)
        dom = hocr_parse(hocr, f"tiny {name} hOCR")
        if dom:
            hw = hocr_words(dom)
            missing = [w for w in words if w not in hw]
            check(not missing, f"tiny {name}: hOCR misses {missing[:8]}")

        pdf = os.path.join(T, f"tiny-{name}.pdf")
        d = os.path.join(T, f"tiny-draw-{name}")
        expect(1, m + args + ["-f", "pdf", "--draw", d, "-o", pdf, src], f"tiny {name} pdf", stand_in=None)
        qpdf_check(pdf, f"tiny {name} -f pdf")
        if src == BZIP2:
            check(pdftext(pdf) == pdftext(BZIP2), "tiny bzip2: the truncated page is unchanged")
        else:
            check(pdftext(pdf).strip() == "", f"tiny {name}: the truncated image page has no text")
        check(len(os.listdir(d)) == 1, f"tiny {name}: --draw wrote the page's picture: {os.listdir(d)}")

        # the same tokens as a finished page, through the stand-in
        if STAND_IN:
            rawf = os.path.join(T, f"tiny-{name}.raw")
            with open(rawf, "w") as f:
                f.write(raw)
            pdf2 = os.path.join(T, f"tiny-{name}-ok.pdf")
            expect(0, args + ["-f", "pdf", "-o", pdf2, src], f"tiny {name} replayed", stand_in=rawf)
            qpdf_check(pdf2, f"tiny {name} replayed -f pdf")
            got = pdftext(pdf2, 1)
            missing = [w for w in words if w not in got]
            check(not missing, f"tiny {name} replayed: pdftotext misses {missing[:8]}")
            if src == BZIP2:
                check(pdftext(BZIP2, 1).strip() in got, "tiny bzip2 replayed: the page's own text kept")


def main():
    global T
    for tool in ("qpdf", "pdftotext", "pdfinfo", "pdfimages", "script"):
        if not shutil.which(tool):
            raise SystemExit(f"FAIL {tool} is missing (.ci/install-deps installs it)")
    if not os.path.exists(BZIP2):
        raise SystemExit("FAIL testdata/cache/bzip2-manual.pdf is missing (run testdata/fetch.sh)")
    if sys.argv[1:] == ["tiny"]:
        tests = (test_tiny,)
    else:
        if not STAND_IN:
            print("SKIP: needs a build with -Dstand_in=true")
            return 77
        tests = (test_usage, test_pdf_from_pdf, test_pdf_from_images, test_pdf_interrupted,
                 test_resume, test_hocr, test_draw, test_skip_text)
    with tempfile.TemporaryDirectory(prefix="ocr2-archive-cli.") as tmp:
        T = tmp
        for t in tests:
            n = len(failures)
            t()
            print(f"{t.__name__}: {'ok' if len(failures) == n else 'FAILED'}")
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
