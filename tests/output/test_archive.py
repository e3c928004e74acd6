#!/usr/bin/python3
"""test_archive.py - the archive writers end to end, through archive-tool and
independent readers: qpdf --check, poppler-utils (pdftotext, pdffonts,
pdfimages, pdftoppm, pdfinfo), pikepdf for the PDF objects, Pillow for pixels,
xml.dom.minidom for well-formedness and OCRmyPDF's HocrTransform for the hOCR
round trip. Needs $ARCHIVE_TOOL, $TESTDATA and $TESTCACHE (meson sets them)."""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.dom.minidom

TOOL = os.environ["ARCHIVE_TOOL"]
DOCS = os.path.join(os.environ["TESTDATA"], "docs")
CACHE = os.environ["TESTCACHE"]
BZIP2 = os.path.join(CACHE, "bzip2-manual.pdf")
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL", msg)


def run(args, ok=True):
    p = subprocess.run(args, capture_output=True)
    if ok and p.returncode != 0:
        raise SystemExit(f"FAIL {' '.join(args)}: rc {p.returncode}: {p.stderr.decode(errors='replace')}")
    return p


def text(args):
    return run(args).stdout.decode()


# Multilingual model output: the writers must keep every script searchable,
# drop the special tokens and flatten the table.
RAW_MULTI = """<|ref|>title<|/ref|><|det|>[[100, 80, 900, 130]]<|/det|>
# bzip2 and libbzip2 overlay
<|ref|>text<|/ref|><|det|>[[100, 200, 900, 300]]<|/det|>
Chinese 中文测试 and Greek αβγ δοκιμή
Arabic مرحبا بالعالم here
emoji 😀🎉 beyond 𝔘𝔫𝔦
<|ref|>equation<|/ref|><|det|>[[100, 320, 900, 360]]<|/det|>
\\[ E = mc^2 + \\frac{a}{b} \\]
<|ref|>table<|/ref|><|det|>[[100, 400, 900, 500]]<|/det|>
<table><tr><td>cellA1</td><td>cellB1</td></tr><tr><td>cellA2 &amp; more</td><td>cellB2</td></tr></table>
<|ref|>image<|/ref|><|det|>[[100, 600, 400, 800]]<|/det|>
<｜end▁of▁sentence｜>"""
WORDS_MULTI = ["bzip2", "libbzip2", "overlay", "Chinese", "中文测试", "Greek", "αβγ", "δοκιμή",
               "Arabic", "here", "emoji", "😀🎉", "beyond", "𝔘𝔫𝔦", "\\[", "mc^2", "\\frac{a}{b}",
               "cellA1 cellB1", "cellA2 & more cellB2"]
ARABIC = ["مرحبا", "بالعالم"]
SPECIAL = ["<|ref|>", "<|det|>", "end▁of▁sentence", "<table>", "<td>", "# bzip2", "&amp;"]

RAW_HELLO = """<|ref|>text<|/ref|><|det|>[[100, 100, 500, 300]]<|/det|>
Hello"""

RAW_LATIN = """<|ref|>title<|/ref|><|det|>[[50, 50, 950, 150]]<|/det|>
Quarterly Report
<|ref|>text<|/ref|><|det|>[[50, 200, 950, 500]]<|/det|>
The quick brown fox
jumps over the lazy dog
<|ref|>table<|/ref|><|det|>[[50, 550, 950, 900]]<|/det|>
<table><tr><td>alpha</td><td>beta</td></tr><tr><td>gamma</td><td>delta</td></tr></table>"""
WORDS_LATIN = ["Quarterly", "Report", "quick", "brown", "fox", "jumps", "lazy", "dog", "alpha",
               "beta", "gamma", "delta"]


def strip_bidi(s):
    return re.sub("[\u202a-\u202e\u2066-\u2069]", "", s)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def qpdf_check(path):
    p = run(["qpdf", "--check", path], ok=False)
    out = p.stdout.decode() + p.stderr.decode()
    check(p.returncode == 0 and "WARNING" not in out and "No syntax or stream encoding errors" in out,
          f"qpdf --check {os.path.basename(path)}: rc {p.returncode}: {out[-400:]}")


def page_sizes(path):
    out = text(["pdfinfo", "-f", "1", "-l", "100000", path])
    return re.findall(r"Page +\d+ size: +(.*)", out), re.findall(r"Page +\d+ rot: +(\d+)", out)


def fonts(path):
    out = text(["pdffonts", path]).splitlines()[2:]
    return sorted(set(line.split()[0] for line in out if line.strip()))


def pdftext(path, page=None, raw=True, extra=()):
    args = ["pdftotext", "-enc", "UTF-8"] + (["-raw"] if raw else []) + list(extra)
    if page:
        args += ["-f", str(page), "-l", str(page)]
    return strip_bidi(text(args + [path, "-"]))


def contents(pdf, i):
    c = pdf.pages[i].obj.get("/Contents")
    if c is None:
        return []
    items = list(c) if isinstance(c, __import__("pikepdf").Array) else [c]
    return [s.read_raw_bytes() for s in items]


def render_size(pts, dpi):
    import math
    return int(math.ceil(pts * (dpi / 72.0)))


def test_pdf_from_pdf(tmp):
    """The bzip2 manual with text on pages 1 and 3 (3 has 96 links), page 5
    failed: every page kept, the OCR and the page's own text extractable."""
    import pikepdf
    raw = os.path.join(tmp, "multi.raw")
    with open(raw, "w") as f:
        f.write(RAW_MULTI)
    out = os.path.join(tmp, "bzip2-ocr.pdf")
    run([TOOL, "pdf", "-r", "144", BZIP2, out, f"1:{raw}", f"3:{raw}", "5:-"])
    qpdf_check(out)
    check(page_sizes(out) == page_sizes(BZIP2), "page count, sizes and rotations unchanged")
    fo, fn = fonts(BZIP2), fonts(out)
    check(set(fo) <= set(fn) and "OCR2Glyphless" in fn, f"fonts kept: {fo} -> {fn}")

    ocr = pdftext(out, 1)
    for w in WORDS_MULTI + ARABIC:
        check(w in ocr, f"pdftotext -raw page 1 finds {w!r}")
    for s in SPECIAL:
        check(s not in ocr, f"special token or markup {s!r} is not text")
    # the layer is drawn first: the page's own text follows it, whole
    for page in (1, 3):
        own = pdftext(BZIP2, page).strip()
        check(own and own in pdftext(out, page), f"page {page}: the page's own text is kept")
    # the physical-layout reading too (what viewers search): every word
    phys = pdftext(out, 1, raw=False)
    for w in ["中文测试", "δοκιμή", "😀🎉", "cellA1", "cellB2", "\\frac{a}{b}"] + ARABIC:
        check(w in phys, f"pdftotext page 1 (layout) finds {w!r}")
    for page in (2, 4, 5, 38):
        check(pdftext(out, page) == pdftext(BZIP2, page), f"page {page} text unchanged")

    src, res = pikepdf.open(BZIP2), pikepdf.open(out)
    for i in range(len(src.pages)):
        a, b = contents(src, i), contents(res, i)
        if i in (0, 2):
            check(b[1:] == a and len(b) == len(a) + 1, f"page {i + 1}: own content streams kept after the layer")
        else:
            check(a == b, f"page {i + 1}: content unchanged")
        na = len(src.pages[i].obj.get("/Annots", []))
        check(na == len(res.pages[i].obj.get("/Annots", [])), f"page {i + 1}: {na} annotations kept")
    check(len(res.pages[2].obj.get("/Annots", [])) == 96, "page 3 keeps its 96 links")

    again = os.path.join(tmp, "bzip2-ocr-2.pdf")
    run([TOOL, "pdf", "-r", "144", BZIP2, again, f"1:{raw}", f"3:{raw}", "5:-"])
    check(sha(out) == sha(again), "deterministic: the same input gives the same bytes")

    # a full-page block without boxes (`Free OCR.` output) is placed too
    free = os.path.join(tmp, "free.raw")
    with open(free, "w") as f:
        f.write("plain free text\nsecond line")
    out2 = os.path.join(tmp, "free.pdf")
    run([TOOL, "pdf", BZIP2, out2, f"2:{free}"])
    check("plain free text" in pdftext(out2, 2) and "second line" in pdftext(out2, 2),
          "untagged text is placed over the page")


def test_placement(tmp):
    """The word lands where the model saw it, for every /Rotate and a crop box
    off the origin: pdftotext -bbox (shown coordinates) against the box."""
    raw = os.path.join(tmp, "hello.raw")
    with open(raw, "w") as f:
        f.write(RAW_HELLO)
    for name in ("pdf-cropbox.pdf", "pdf-rotated.pdf", "pdf-page.pdf"):
        for rot in (0, 90, 180, 270):
            src = os.path.join(tmp, f"r{rot}-{name}")
            run(["qpdf", os.path.join(DOCS, name), f"--rotate=+{rot}", src])
            for dpi in (144, 100):
                out = os.path.join(tmp, f"o{rot}-{dpi}-{name}")
                run([TOOL, "pdf", "-r", str(dpi), src, out, f"1:{raw}"])
                qpdf_check(out)
                info = text(["pdftotext", "-cropbox", "-bbox", out, "-"])
                m = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', info)
                wd = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">Hello', info)
                if not (m and wd):
                    check(False, f"{name} rotated {rot}: no word found")
                    continue
                # shown size from pdfinfo (crop box, rotation applied)
                sz = re.search(r"Page size: +([\d.]+) x ([\d.]+)", text(["pdfinfo", src]))
                pw, ph = float(sz.group(1)), float(sz.group(2))
                prot = int(re.search(r"Page rot: +(\d+)", text(["pdfinfo", src])).group(1))
                if prot % 180:
                    pw, ph = ph, pw
                W, H = render_size(pw, dpi), render_size(ph, dpi)
                px = lambda v, s: int(v / 999 * s)
                want = [px(100, W) * 72 / dpi, px(100, H) * 72 / dpi, px(500, W) * 72 / dpi, px(300, H) * 72 / dpi]
                got = [float(v) for v in wd.groups()]
                # x exact; y inside the box and centred (a short line's font
                # may be smaller than the box is tall)
                ok = abs(got[0] - want[0]) < 0.05 and abs(got[2] - want[2]) < 0.05
                ok = ok and want[1] - 0.05 <= got[1] < got[3] <= want[3] + 0.05
                ok = ok and abs((got[1] + got[3]) - (want[1] + want[3])) < 0.1
                check(ok, f"{name} /Rotate {prot} at {dpi} dpi: word at {got}, want {want}")


def test_images(tmp):
    """Image inputs: the image at full resolution under the text; JPEG bytes
    unchanged, bilevel as G4, the EXIF orientation shown as the model saw it."""
    import pikepdf
    from PIL import Image, ImageOps
    raw = os.path.join(tmp, "hello.raw")
    with open(raw, "w") as f:
        f.write(RAW_HELLO)
    cases = ["png-rgb.png", "png-gray.png", "png-palette.png", "jpeg-rgb.jpg", "jpeg-gray.jpg",
             "jpeg-cmyk.jpg", "jpeg-progressive.jpg", "tiff-g4.tif", "tiff-multi.tif"]
    cases += [f"jpeg-orient-{o}.jpg" for o in range(1, 9)]
    for name in cases:
        src = os.path.join(DOCS, name)
        out = os.path.join(tmp, name + ".pdf")
        run([TOOL, "pdf", src, out, f"1:{raw}"])
        qpdf_check(out)
        check("Hello" in pdftext(out, 1), f"{name}: the text layer is found")
        lst = text(["pdfimages", "-list", out]).splitlines()[2:]
        enc = lst[0].split()[8] if lst else "?"
        pdf = pikepdf.open(out)
        img = next(iter(pdf.pages[0].images.values()))
        if name.startswith("jpeg"):
            with open(src, "rb") as f:
                check(img.read_raw_bytes() == f.read() and enc == "jpeg",
                      f"{name}: the JPEG is embedded byte for byte ({enc})")
        if name == "tiff-g4.tif":
            check(enc == "ccitt", f"{name}: stays bilevel as CCITT G4 ({enc})")
        if name.startswith("png") or name == "tiff-multi.tif":
            check(enc == "image", f"{name}: lossless Flate ({enc})")
        # the page shows what the model saw: pdftocairo at 300 dpi (the default
        # for images without a resolution) against Pillow's decoding
        ref = Image.open(src)
        ref = ImageOps.exif_transpose(ref).convert("RGB")
        ppm = os.path.join(tmp, name + "-r")
        run(["pdftocairo", "-r", "300", "-f", "1", "-l", "1", "-png", out, ppm])
        got = Image.open(ppm + "-1.png").convert("RGB")
        check(got.size == ref.size, f"{name}: page at 300 dpi is {got.size}, image {ref.size}")
        if got.size == ref.size:
            diff = sum(abs(a - b) for pa, pb in zip(got.getdata(), ref.getdata()) for a, b in zip(pa, pb))
            mean = diff / (3 * ref.size[0] * ref.size[1])
            lossless = not name.startswith("jpeg")
            check(mean == 0 if lossless else mean < 3, f"{name}: shown pixels differ by {mean:.2f} on average")
    # every TIFF page becomes a page
    check(len(pikepdf.open(os.path.join(tmp, "tiff-multi.tif.pdf")).pages) == 3, "tiff-multi: 3 pages")

    # a real fax: G4 at its own resolution (204 x 196 dpi), about the TIFF's size
    fax = os.path.join(CACHE, "viewfax.tif")
    out = os.path.join(tmp, "fax.pdf")
    run([TOOL, "pdf", fax, out, f"1:{raw}"])
    qpdf_check(out)
    sz = re.search(r"Page size: +([\d.]+) x ([\d.]+)", text(["pdfinfo", out]))
    check(abs(float(sz.group(1)) - 1728 * 72 / 204) < 0.01 and abs(float(sz.group(2)) - 2292 * 72 / 196) < 0.01,
          f"fax page sized by its resolution: {sz.groups()}")
    ratio = os.path.getsize(out) / os.path.getsize(fax)
    print(f"fax: TIFF {os.path.getsize(fax)} bytes -> PDF {os.path.getsize(out)} bytes ({ratio:.2f}x)")
    check(ratio < 1.25, f"the G4 fax stays small: {ratio:.2f} x the TIFF")

    # a failed image page: the image without text; -i sets the default dpi
    out = os.path.join(tmp, "failed.pdf")
    run([TOOL, "pdf", "-i", "72", os.path.join(DOCS, "png-rgb.png"), out, "1:-"])
    qpdf_check(out)
    check(pdftext(out).strip() == "", "a failed page has no text")
    check("64 x 48 pts" in text(["pdfinfo", out]), "-i 72: a 64x48 image is 64x48 points")


def test_text_layer(tmp):
    """--skip-text's question: does a PDF page carry text?"""
    out = text([TOOL, "text", BZIP2, "1"])
    check(out.startswith("has_text 1\n") and "bzip2" in out and "Julian Seward" in out,
          f"bzip2 page 1 carries text: {out[:80]!r}")
    scan = os.path.join(tmp, "scan.pdf")
    run([TOOL, "pdf", os.path.join(DOCS, "tiff-g4.tif"), scan])
    out = text([TOOL, "text", scan, "1"])
    check(out == "has_text 0\n", f"an image-only PDF carries no text: {out!r}")
    out = text([TOOL, "text", os.path.join(DOCS, "png-rgb.png"), "1"])
    check(out == "has_text 0\n", "an image carries no text layer")


def test_hocr(tmp):
    """Well-formed XHTML with the hOCR classes, boxes inside the page, and
    OCRmyPDF's renderer reads it back."""
    raw = os.path.join(tmp, "multi.raw")
    with open(raw, "w") as f:
        f.write(RAW_MULTI)
    out = os.path.join(tmp, "bzip2.hocr")
    run([TOOL, "hocr", "-r", "144", BZIP2, out, f"1:{raw}", "2:-"])
    with open(out, "rb") as f:
        data = f.read()
    try:
        dom = xml.dom.minidom.parseString(data)
    except Exception as e:  # noqa: BLE001 - any parse error is the failure
        check(False, f"hOCR is well-formed XML: {e}")
        return
    metas = {m.getAttribute("name"): m.getAttribute("content") for m in dom.getElementsByTagName("meta")}
    check(metas.get("ocr-system", "").startswith("ocr2"), "ocr-system")
    check(all(c in metas.get("ocr-capabilities", "") for c in ("ocr_page", "ocr_carea", "ocr_par", "ocr_line", "ocrx_word")),
          "ocr-capabilities")
    check("estimated" in metas.get("ocr2-estimated", ""), "the metadata says line and word boxes are estimated")
    by_class = {}
    ids = set()
    for tag in ("div", "p", "span"):
        for e in dom.getElementsByTagName(tag):
            by_class.setdefault(e.getAttribute("class"), []).append(e)
            check(e.getAttribute("id") not in ids, f"id {e.getAttribute('id')} unique")
            ids.add(e.getAttribute("id"))
    pages = by_class.get("ocr_page", [])
    check(len(pages) == 38, f"one ocr_page per page ({len(pages)})")
    W, H = render_size(612, 144), render_size(792, 144)
    m = re.search(r"bbox 0 0 (\d+) (\d+); ppageno 0", pages[0].getAttribute("title"))
    check(m and (int(m.group(1)), int(m.group(2))) == (W, H), f"page 1 bbox is the picture's size: {pages[0].getAttribute('title')}")
    for cls in ("ocr_carea", "ocr_par", "ocr_line", "ocrx_word"):
        els = by_class.get(cls, [])
        check(len(els) > 0, f"{cls} present")
        for e in els:
            b = re.search(r"bbox (\d+) (\d+) (\d+) (\d+)", e.getAttribute("title"))
            x0, y0, x1, y1 = map(int, b.groups()) if b else (0, 0, -1, -1)
            check(0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H, f"{cls} bbox inside the page: {e.getAttribute('title')}")
    words = " ".join(e.firstChild.data for e in by_class.get("ocrx_word", []) if e.firstChild)
    for w in WORDS_MULTI + ARABIC:
        check(all(p in words for p in w.split()), f"hOCR word {w!r}")
    for s in SPECIAL:
        check(s not in words, f"hOCR: {s!r} is not a word")
    check(len(by_class.get("ocr_carea", [])) == 4, "one ocr_carea per block with text (the image block has none)")

    # OCRmyPDF's renderer reads one page; a PNG's page, Latin text (its
    # Helvetica cannot show other scripts)
    lat = os.path.join(tmp, "latin.raw")
    with open(lat, "w") as f:
        f.write(RAW_LATIN)
    one = os.path.join(tmp, "one.hocr")
    run([TOOL, "hocr", os.path.join(CACHE, "viewfax.tif"), one, f"1:{lat}"])
    rendered = os.path.join(tmp, "hocr.pdf")
    code = ("import sys\nfrom ocrmypdf.hocrtransform import HocrTransform\n"
            "HocrTransform(hocr_filename=sys.argv[1], dpi=204).to_pdf(out_filename=sys.argv[2], invisible_text=True)\n")
    p = run(["/usr/bin/python3", "-c", code, one, rendered], ok=False)
    check(p.returncode == 0, f"HocrTransform renders the hOCR: {p.stderr.decode()[-300:]}")
    if p.returncode == 0:
        got = pdftext(rendered, raw=False)
        for w in WORDS_LATIN:
            check(w in got, f"HocrTransform round trip finds {w!r}")


def test_draw(tmp):
    """The layout picture: the page's size, each box's edge in its label's colour."""
    from PIL import Image
    raw = os.path.join(tmp, "multi.raw")
    with open(raw, "w") as f:
        f.write(RAW_MULTI)
    out = os.path.join(tmp, "layout.png")
    colors = text([TOOL, "draw", "-r", "144", BZIP2, "1", raw, out])
    img = Image.open(out).convert("RGB")
    W, H = render_size(612, 144), render_size(792, 144)
    check(img.size == (W, H), f"picture is the page's size: {img.size}")
    boxes = re.findall(r"<\|ref\|>(\w+)<\|/ref\|><\|det\|>\[\[(\d+), (\d+), (\d+), (\d+)\]\]", RAW_MULTI)
    cmap = {line.split()[0]: tuple(map(int, line.split()[1:])) for line in colors.splitlines()}
    check(len(set(cmap.values())) == len(cmap), f"a colour per label: {cmap}")
    for label, *g in boxes:
        x0, y0, x1, y1 = (int(int(v) / 999 * s) for v, s in zip(g, (W, H, W, H)))
        want = cmap[label]
        for x, y in ((x0, (y0 + y1) // 2), (x1 - 1, (y0 + y1) // 2), ((x0 + x1) // 2, y1 - 1)):
            check(img.getpixel((x, y)) == want, f"{label} edge at ({x}, {y}) is {img.getpixel((x, y))}, want {want}")


def test_many_characters(tmp):
    """More distinct characters than 2-byte codes: the first 65534 keep their
    own, the rest read as U+FFFD; the PDF stays valid."""
    cps = list(range(0x4E00, 0x9FFF)) + list(range(0xAC00, 0xD7A4)) + list(range(0x20000, 0x2A6DF))
    lines = ["".join(chr(c) for c in cps[i:i + 500]) for i in range(0, len(cps), 500)]
    raw = os.path.join(tmp, "many.raw")
    with open(raw, "w") as f:
        f.write("<|ref|>text<|/ref|><|det|>[[0, 0, 999, 999]]<|/det|>\n" + "\n".join(lines))
    out = os.path.join(tmp, "many.pdf")
    # -i 2: a page large enough (32 x 24 in) for 150 lines of 500 characters
    run([TOOL, "pdf", "-i", "2", os.path.join(DOCS, "png-rgb.png"), out, f"1:{raw}"])
    qpdf_check(out)
    got = set(pdftext(out))
    kept = sum(1 for c in cps if chr(c) in got)
    check(kept == 65534 and chr(cps[65533]) in got and chr(cps[65534]) not in got and "\ufffd" in got,
          f"codes beyond the 65534th read as U+FFFD ({kept} kept)")


def test_errors(tmp):
    """A write that cannot happen: one line naming the file, no crash; the
    same bytes through a descriptor as to a file."""
    p = run([TOOL, "pdf", BZIP2, os.path.join(tmp, "no", "such", "dir.pdf")], ok=False)
    err = p.stderr.decode()
    check(p.returncode == 1 and "dir.pdf" in err and err.count("\n") == 1, f"unwritable output: {err!r}")
    p = run([TOOL, "pdf", BZIP2, "/dev/full"], ok=False)
    err = p.stderr.decode()
    check(p.returncode == 1 and "/dev/full: cannot write: No space left" in err and err.count("\n") == 1,
          f"full disk: {err!r}")
    raw = os.path.join(tmp, "hello.raw")
    with open(raw, "w") as f:
        f.write(RAW_HELLO)
    path = os.path.join(tmp, "to-file.pdf")
    run([TOOL, "pdf", BZIP2, path, f"2:{raw}"])
    with open(path, "rb") as f:
        check(run([TOOL, "pdf", BZIP2, "-", f"2:{raw}"]).stdout == f.read(), "stdout gets the file's bytes")


def test_tiny_model(tmp):
    """What the tiny test models write (arbitrary tokens from every script of
    the vocabulary, special tokens among them) through the PDF and hOCR
    writers: every word comes back from pdftotext and from the hOCR."""
    ocr2 = os.environ.get("OCR2")
    model = os.path.join(os.environ["TESTDATA"], "models", "tiny")
    if not ocr2 or not os.path.isdir(model):
        raise SystemExit("FAIL the tiny model is missing (testdata/make-tiny.py)")
    for name in ("bzip2-p1-72dpi.png", "crc-p1-60dpi.png"):
        img = os.path.join(os.environ["TESTDATA"], "images", name)
        p = run([ocr2, "scan", "-m", model, "-f", "raw", "--max-tokens", "400", img], ok=False)
        check(p.returncode in (0, 1), f"{name}: ocr2 scan rc {p.returncode}: {p.stderr.decode()[-200:]}")
        raw = "".join(l for l in p.stdout.decode().splitlines(True) if not l.startswith("<!-- page"))
        rawf = os.path.join(tmp, name + ".raw")
        with open(rawf, "w") as f:
            f.write(raw)
        clean = re.sub(r"<｜[^\n]{0,160}?｜>|<\|[^\n]{0,48}?\|>|<image>", " ", raw)
        clean = re.sub(r"<\|ref\|>.*?<\|/det\|>", " ", clean)
        words = set(clean.split())
        check(len(words) > 5, f"{name}: the tiny model wrote words ({len(words)})")
        out = os.path.join(tmp, name + ".pdf")
        run([TOOL, "pdf", img, out, f"1:{rawf}"])
        qpdf_check(out)
        got = pdftext(out)
        missing = [w for w in words if w not in got]
        check(not missing, f"{name}: pdftotext -raw misses {missing[:8]}")
        # the layout reading applies poppler's own bidi guesses to neutrals
        # next to right-to-left text; lines without any read back exactly
        rtl = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe]")
        ltr_words = set(w for line in clean.splitlines() if not rtl.search(line) for w in line.split())
        got = pdftext(out, raw=False)
        missing = [w for w in ltr_words if w not in got]
        check(not missing, f"{name}: pdftotext misses {missing[:8]}")
        hocr = os.path.join(tmp, name + ".hocr")
        run([TOOL, "hocr", img, hocr, f"1:{rawf}"])
        dom = xml.dom.minidom.parse(hocr)
        hw = " ".join(e.firstChild.data for e in dom.getElementsByTagName("span")
                      if e.getAttribute("class") == "ocrx_word" and e.firstChild)
        missing = [w for w in words if w not in hw]
        check(not missing, f"{name}: hOCR misses {missing[:8]}")


def main():
    for tool in ("qpdf", "pdftotext", "pdffonts", "pdfimages", "pdftocairo", "pdfinfo"):
        if not shutil.which(tool):
            raise SystemExit(f"FAIL {tool} is missing (.ci/install-deps installs it)")
    if not os.path.exists(BZIP2):
        raise SystemExit("FAIL testdata/cache/bzip2-manual.pdf is missing (run testdata/fetch.sh)")
    tests = (test_pdf_from_pdf, test_placement, test_images, test_text_layer, test_hocr, test_draw,
             test_many_characters, test_errors)
    if sys.argv[1:] == ["tiny"]:
        tests = (test_tiny_model,)
    with tempfile.TemporaryDirectory() as tmp:
        for t in tests:
            n = len(failures)
            t(tmp)
            print(f"{t.__name__}: {'ok' if len(failures) == n else 'FAILED'}")
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
