#!/usr/bin/python3
"""Regenerates the document-reader fixtures in testdata/docs/ and what the
tests expect of them, from real documents in testdata/cache/ (run
`bash testdata/fetch.sh` first):

  bzip2-manual.pdf  (bzip2-doc)        -> PDF fixtures, the grey text base image
  viewfax.tif       (mgetty-viewfax)   -> CCITT G3/G4 bilevel crops
  multipage.tif     (node-opencv)      -> the colour base image, multi-frame TIFFs

Expected pixels come from Pillow (an independent reader): Image.open ->
ImageOps.exif_transpose -> RGB, with transparency pasted on white with the
alpha as mask (what the official PDF script does). They are written as binary
PPM files in expected/, and expected.txt lists, per fixture, the page count,
the expected files and the tolerance (max and mean absolute difference per
channel) or the error status the reader must return.

Tools: /usr/bin/python3 with Pillow and numpy, tiffcp (libtiff-tools),
pdftocairo (poppler-utils), qpdf (for the encrypted PDF).
Usage: /usr/bin/python3 testdata/docs/make-fixtures.py
"""
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, "..", "cache")
EXP = os.path.join(HERE, "expected")
manifest = []
written = {}


def out(name):
    return os.path.join(HERE, name)


def run(*cmd):
    subprocess.run(cmd, check=True)


def write_ppm(path, rgb):
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        f.write(rgb.tobytes())


def pil_rgb(im):
    """Pillow's view of one frame as 8-bit RGB on white."""
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # Pillow's I->RGB conversion clips at 255 instead of scaling; take the
        # high byte of the 16-bit sample, as libpng/libtiff 8-bit output does.
        a = np.asarray(im).astype(np.uint32) >> 8
        return np.stack([a] * 3, axis=-1).astype(np.uint8)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode in ("P", "L", "RGB") and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGB", im.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.split()[-1])
        return np.asarray(bg)
    return np.asarray(im.convert("RGB"))


def square(im, px):
    """ocr2's view of a TIFF frame whose X and Y resolutions differ (a fax: 204 x
    98 dpi): the axis of the lower resolution resampled up to the higher one with
    Pillow's BICUBIC, floor(side * hi / lo + 0.5) pixels (lib/document/image.c).
    The unit does not matter (a ratio); a ratio over 8 is ignored as bogus."""
    tags = getattr(im, "tag_v2", None)
    xr, yr = (float(tags.get(282, 0)), float(tags.get(283, 0))) if tags else (0, 0)
    if not (xr > 0 and yr > 0) or xr / yr > 8 or yr / xr > 8 or xr == yr:
        return px
    h, w = px.shape[:2]
    if xr > yr:
        size = (w, int(np.floor(h * (xr / yr) + 0.5)))
    else:
        size = (int(np.floor(w * (yr / xr) + 0.5)), h)
    return np.asarray(Image.fromarray(px).resize(size, Image.BICUBIC))


def expect(name, max_err=0, mean_err=0.0, note=""):
    """Records Pillow's pixels of every frame of fixture `name`."""
    im = Image.open(out(name))
    files = []
    n = getattr(im, "n_frames", 1)
    for i in range(n):
        im.seek(i)
        px = square(im, pil_rgb(im))
        key = (px.shape, px.tobytes())
        if key not in written:  # identical pixels share one file
            written[key] = "%s-%d.ppm" % (os.path.splitext(name)[0], i + 1)
            write_ppm(os.path.join(EXP, written[key]), px)
        files.append(written[key])
    manifest.append("%s pages=%d max=%d mean=%g %s%s" % (
        name, n, max_err, mean_err, " ".join(files), ("  # " + note) if note else ""))


def expect_status(name, status, where="open", note=""):
    manifest.append("%s status=%s at=%s%s" % (name, status, where, ("  # " + note) if note else ""))


# ---- base images from the real documents ------------------------------------
def base_images(tmp):
    # grey text: page 1 of the bzip2 manual at 72 dpi, title area
    run("pdftocairo", "-png", "-r", "72", "-f", "1", "-l", "1", "-singlefile",
        os.path.join(CACHE, "bzip2-manual.pdf"), os.path.join(tmp, "p1"))
    page = Image.open(os.path.join(tmp, "p1.png")).convert("RGB")
    text = Image.fromarray(np.asarray(page.crop((60, 90, 60 + 80, 90 + 56))))
    # colour photo: frames of the node-opencv multi-page TIFF, downscaled
    mp = Image.open(os.path.join(CACHE, "multipage.tif"))
    frames = []
    for i in (0, 3, 7):
        mp.seek(i)
        # through numpy: no info (compression, dpi) carried over from the source
        frames.append(Image.fromarray(np.asarray(mp.convert("RGB").resize((64, 48), Image.BILINEAR))))
    # bilevel fax: a crop of the viewfax G4 page
    fax = Image.open(os.path.join(CACHE, "viewfax.tif")).convert("1")
    fax = Image.fromarray(np.asarray(fax.crop((200, 300, 200 + 160, 300 + 96))))
    return text, frames, fax


# ---- PNG writer for what Pillow cannot write (16-bit RGB, Adam7, ...) -----------
def png_chunk(t, data):
    return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xffffffff)


def pack_rows(a, depth):
    """a: [h, w, c] uint16 samples -> list of raw scanlines (no filter byte)."""
    h, w, c = a.shape
    rows = []
    for y in range(h):
        if depth == 16:
            rows.append(a[y].astype(">u2").tobytes())
        elif depth == 8:
            rows.append(a[y].astype(np.uint8).tobytes())
        else:  # 1, 2, 4 bits, one channel
            bits = "".join(format(int(v), "0%db" % depth) for v in a[y, :, 0])
            bits += "0" * (-len(bits) % 8)
            rows.append(int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b"")
    return rows


def write_png(path, a, color_type, depth, interlace=False, plte=None, trns=None):
    a = a if a.ndim == 3 else a[:, :, None]
    h, w, _ = a.shape
    raw = b""
    if not interlace:
        raw = b"".join(b"\0" + r for r in pack_rows(a, depth))
    else:
        for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
                               (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)):
            sub = a[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += b"".join(b"\0" + r for r in pack_rows(sub, depth))
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(
        ">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0))
    if plte is not None:
        data += png_chunk(b"PLTE", bytes(plte))
    if trns is not None:
        data += png_chunk(b"tRNS", trns)
    data += png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def make_png(text, photo):
    rgb = np.asarray(photo)
    gray = np.asarray(text.convert("L"))
    photo.save(out("png-rgb.png"))
    expect("png-rgb.png")
    text.convert("L").save(out("png-gray.png"))
    expect("png-gray.png")
    photo.quantize(16).save(out("png-palette.png"))
    expect("png-palette.png")
    # palette with a transparent entry (tRNS): expanded, then on white
    p = photo.quantize(8)
    p.info["transparency"] = 0
    p.save(out("png-palette-trns.png"), transparency=0)
    expect("png-palette-trns.png")
    # 16-bit grey and RGB, a real low byte from a smooth ramp
    g16 = (gray.astype(np.uint16) * 257 + np.arange(gray.shape[1], dtype=np.uint16)[None, :] * 3) & 0xffff
    write_png(out("png-gray16.png"), g16, 0, 16)
    expect("png-gray16.png")
    rgb16 = rgb.astype(np.uint16) * 256 + 255 - rgb.astype(np.uint16)
    write_png(out("png-rgb16.png"), rgb16, 2, 16)
    expect("png-rgb16.png")
    # alpha: a horizontal ramp 0..255, RGBA 8-bit and 16-bit, grey+alpha
    h, w, _ = rgb.shape
    alpha = np.tile(np.linspace(0, 255, w).round().astype(np.uint16), (h, 1))
    write_png(out("png-rgba.png"), np.dstack([rgb, alpha]), 6, 8)
    expect("png-rgba.png", note="alpha on white: round((c*a + 255*(255-a))/255), Pillow paste")
    rgba16 = np.dstack([rgb16, alpha * 257])
    write_png(out("png-rgba16.png"), rgba16, 6, 16)
    expect("png-rgba16.png")
    ga = np.dstack([gray, np.tile(np.linspace(255, 0, gray.shape[1]).round().astype(np.uint16), (gray.shape[0], 1))])
    write_png(out("png-gray-alpha.png"), ga, 4, 8)
    expect("png-gray-alpha.png")
    # 2-bit grey and Adam7-interlaced RGB
    write_png(out("png-gray2.png"), (gray >> 6).astype(np.uint16), 0, 2)
    expect("png-gray2.png")
    write_png(out("png-interlaced.png"), rgb.astype(np.uint16), 2, 8, interlace=True)
    expect("png-interlaced.png")


def exif_bytes(orientation, big_endian=False):
    e = ">" if big_endian else "<"
    tiff = (b"MM\0*" if big_endian else b"II*\0") + struct.pack(e + "I", 8)
    # IFD0: one entry, Orientation SHORT 1 = value, then next-IFD 0
    tiff += struct.pack(e + "H", 1) + struct.pack(e + "HHI", 0x0112, 3, 1) + \
        struct.pack(e + "HH", orientation, 0) + struct.pack(e + "I", 0)
    return b"Exif\0\0" + tiff


def make_jpeg(text, photo):
    # Decoder differences: Pillow 9.4 and ocr2 both use Debian's
    # libjpeg-turbo with default settings (islow IDCT, fancy upsampling),
    # so the pixels are expected to be identical; a mean of 0.5 / max 8 is
    # allowed for a different libjpeg build (the IDCT is not bit-exact
    # across implementations).
    tol = dict(max_err=8, mean_err=0.5)
    photo.save(out("jpeg-rgb.jpg"), quality=90)
    expect("jpeg-rgb.jpg", **tol)
    text.convert("L").save(out("jpeg-gray.jpg"), quality=90)
    expect("jpeg-gray.jpg", **tol)
    photo.convert("CMYK").save(out("jpeg-cmyk.jpg"), quality=90)
    expect("jpeg-cmyk.jpg", **tol, note="Adobe CMYK -> RGB as Pillow's cmyk2rgb")
    photo.save(out("jpeg-progressive.jpg"), quality=85, progressive=True)
    expect("jpeg-progressive.jpg", **tol)
    # a non-square image so transposes show; every EXIF orientation
    base = photo.crop((0, 0, 64, 40))
    for o in range(1, 9):
        base.save(out("jpeg-orient-%d.jpg" % o), quality=90, exif=exif_bytes(o))
        expect("jpeg-orient-%d.jpg" % o, **tol)
    for o in (3, 6, 8):
        base.save(out("jpeg-orient-%d-be.jpg" % o), quality=90, exif=exif_bytes(o, True))
        expect("jpeg-orient-%d-be.jpg" % o, **tol, note="big-endian Exif")


def make_tiff(text, frames, fax, tmp):
    photo = frames[0]
    photo.save(out("tiff-none.tif"), compression=None)
    expect("tiff-none.tif")
    for c, name in (("lzw", "tiff-lzw.tif"), ("zip", "tiff-deflate.tif"),
                    ("packbits", "tiff-packbits.tif"), ("lzw:2", "tiff-lzw-predictor.tif")):
        run("tiffcp", "-c", c, out("tiff-none.tif"), out(name))
        expect(name)
    run("tiffcp", "-r", "16", "-c", "jpeg:90", out("tiff-none.tif"), out("tiff-jpeg.tif"))
    expect("tiff-jpeg.tif", max_err=8, mean_err=0.5, note="JPEG in TIFF: libjpeg IDCT may differ")
    text.convert("L").save(out("tiff-gray.tif"), compression="tiff_lzw")
    expect("tiff-gray.tif")
    photo.quantize(16).save(out("tiff-palette.tif"))
    expect("tiff-palette.tif")
    g = np.asarray(text.convert("L")).astype(np.uint16)
    Image.fromarray((g * 257 + 7).astype(np.uint16), "I;16").save(out("tiff-gray16.tif"))
    expect("tiff-gray16.tif", max_err=1, mean_err=0.6,
           note="libtiff scales 16->8 with rounding, Pillow/expected take the high byte")
    h, w = photo.size[1], photo.size[0]
    alpha = np.tile(np.linspace(0, 255, w).round().astype(np.uint8), (h, 1))
    Image.fromarray(np.dstack([np.asarray(photo), alpha]), "RGBA").save(
        out("tiff-rgba.tif"), compression="tiff_adobe_deflate")
    expect("tiff-rgba.tif", max_err=1, mean_err=0.5,
           note="libtiff premultiplies with its own rounding before the white background")
    fax.save(out("tiff-g4.tif"), compression="group4")
    expect("tiff-g4.tif")
    fax.save(out("tiff-g3.tif"), compression="group3")
    expect("tiff-g3.tif")
    # a standard-resolution fax, 204 x 98 dpi (every other row of the fine
    # viewfax page): its pixels are twice as tall as wide, and ocr2 resamples
    # them square, 1728x1100 -> 1728x2290 for the page (render.sh checks the
    # size), 256x100 -> 256x208 for the crop (pixels as Pillow's BICUBIC)
    page = Image.open(os.path.join(CACHE, "viewfax.tif")).convert("1")
    std = Image.fromarray(np.asarray(page)[0:2200:2])
    std.save(out("tiff-fax-page.tif"), compression="group3", dpi=(204, 98))
    std.crop((640, 400, 640 + 256, 400 + 100)).save(out("tiff-fax.tif"), compression="group3",
                                                    dpi=(204, 98))
    expect("tiff-fax.tif", note="204 x 98 dpi fax resampled to square pixels, 256x208")
    # the same with the unit in centimetres: the ratio is what counts
    std.crop((640, 400, 640 + 256, 400 + 100)).save(out("tiff-fax-cm.tif"), compression="group4",
                                                    x_resolution=80.3, y_resolution=38.6,
                                                    resolution_unit=3)
    expect("tiff-fax-cm.tif", note="the same in pixels per cm (80.3 x 38.6)")
    # three frames of different sizes, LZW, then the same JPEG-compressed
    frames[0].save(out("tiff-multi.tif"), save_all=True, append_images=[
        frames[1].resize((48, 64)), frames[2].crop((0, 0, 40, 30))], compression="tiff_lzw")
    expect("tiff-multi.tif")
    run("tiffcp", "-r", "16", "-c", "jpeg:90", out("tiff-multi.tif"), out("tiff-multi-jpeg.tif"))
    expect("tiff-multi-jpeg.tif", max_err=8, mean_err=0.5)
    # big-endian (Motorola) byte order
    run("tiffcp", "-B", "-c", "lzw", out("tiff-none.tif"), out("tiff-bigendian.tif"))
    expect("tiff-bigendian.tif")
    run("tiffcp", "-8", "-c", "zip", out("tiff-multi.tif"), out("tiff-bigtiff.tif"))
    expect("tiff-bigtiff.tif", note="BigTIFF (tiffcp -8)")


# ---- hand-written PDFs ----------------------------------------------------------
def write_pdf(path, objs, junk=b""):
    """objs: list of object bodies (bytes); object 1 is the catalog."""
    data = junk + b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    base = len(junk)
    offs = []
    for i, body in enumerate(objs):
        offs.append(len(data) - base)
        data += b"%d 0 obj\n" % (i + 1) + body + b"\nendobj\n"
    xref = len(data) - base
    data += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        data += b"%010d 00000 n \n" % o
    data += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    with open(path, "wb") as f:
        f.write(data)


def one_page_pdf(path, media, rotate=0, junk=b"", crop=None):
    content = b"0 0 1 rg 10 10 50 30 re f 0 g BT /F1 12 Tf 20 60 Td (ocr2) Tj ET"
    write_pdf(path, [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [%s] /Rotate %d /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> %s>>" % (
            media.encode(), rotate, b"/CropBox [%s] " % crop.encode() if crop else b""),
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ], junk)


def make_pdf(tmp):
    manual = os.path.join(CACHE, "bzip2-manual.pdf")
    one_page_pdf(out("pdf-page.pdf"), "0 0 144 96")
    manifest.append("pdf-page.pdf pages=1 pdftocairo")
    one_page_pdf(out("pdf-rotated.pdf"), "0 0 200.5 100.25", rotate=90)
    manifest.append("pdf-rotated.pdf pages=1 pdftocairo  # /Rotate 90, fractional size: ceil")
    one_page_pdf(out("pdf-junk-header.pdf"), "0 0 120 80", junk=b"X-Mailer: junk before the header\n" * 8)
    manifest.append("pdf-junk-header.pdf pages=1 pdftocairo  # %PDF- after 264 bytes of junk")
    one_page_pdf(out("pdf-cropbox.pdf"), "0 0 144 96", crop="5.5 8 100 90")
    manifest.append("pdf-cropbox.pdf pages=1 pdftocairo-cropbox  # the crop box is drawn, "
                    "as pdftocairo -cropbox and PyMuPDF do")
    one_page_pdf(out("pdf-huge.pdf"), "0 0 14400 14400")
    # 28800x28800 at 144 dpi: over max_pixels, so drawn at the largest whole
    # dpi that fits: 4 Mpx -> 10 dpi (72 * sqrt(4194304) / 14400 = 10.24)
    manifest.append("pdf-huge.pdf fit=4194304 dpi=10 size=2000x2000  # 200 in square: "
                    "drawn at the largest whole dpi under max_pixels")
    write_pdf(out("pdf-zero-pages.pdf"), [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    ])
    expect_status("pdf-zero-pages.pdf", "EMPTY")
    with open(manual, "rb") as f:
        head = f.read(4000)
    with open(out("pdf-truncated.pdf"), "wb") as f:
        f.write(head)
    expect_status("pdf-truncated.pdf", "FORMAT", note="the first 4000 bytes of the bzip2 manual")
    qpdf = shutil.which("qpdf")
    if not qpdf:
        sys.exit("make-fixtures.py: qpdf is needed for the encrypted PDF (apt-get install qpdf)")
    run(qpdf, "--encrypt", "secret", "owner", "256", "--", out("pdf-page.pdf"), out("pdf-encrypted.pdf"))
    expect_status("pdf-encrypted.pdf", "ENCRYPTED", note="qpdf AES-256, user password 'secret'")


def make_bad(photo):
    # truncated and corrupt rasters
    with open(out("png-rgb.png"), "rb") as f:
        png = f.read()
    with open(out("png-truncated.png"), "wb") as f:
        f.write(png[: len(png) * 2 // 3])
    expect_status("png-truncated.png", "FORMAT", "render")
    bad = bytearray(png)
    i = png.index(b"IDAT") + 20
    bad[i:i + 16] = b"\xde\xad\xbe\xef" * 4
    with open(out("png-corrupt.png"), "wb") as f:
        f.write(bad)
    expect_status("png-corrupt.png", "FORMAT", "render", "IDAT bytes overwritten (CRC and zlib)")
    with open(out("jpeg-rgb.jpg"), "rb") as f:
        jpg = f.read()
    with open(out("jpeg-truncated.jpg"), "wb") as f:
        f.write(jpg[: len(jpg) // 2])
    expect_status("jpeg-truncated.jpg", "FORMAT", "render")
    with open(out("jpeg-corrupt.jpg"), "wb") as f:
        f.write(jpg[:2] + b"\xff\xc0\x00\x03" + b"\x00" * 64)
    expect_status("jpeg-corrupt.jpg", "FORMAT", "open", "a broken SOF marker")
    with open(out("tiff-lzw.tif"), "rb") as f:
        tif = f.read()
    # PIL/tiffcp put the IFD after the strips: cut into the strip data but
    # keep a header that points to a directory that is no longer there
    with open(out("tiff-truncated.tif"), "wb") as f:
        f.write(tif[: len(tif) // 2])
    expect_status("tiff-truncated.tif", "FORMAT", "open")
    # a valid directory whose strip runs past the end of the file
    im = photo.copy()
    im.save(os.path.join(HERE, "tmp-strip.tif"), compression=None)
    with open(os.path.join(HERE, "tmp-strip.tif"), "rb") as f:
        t = bytearray(f.read())
    os.unlink(os.path.join(HERE, "tmp-strip.tif"))
    # Pillow writes the IFD first (offset 8) and the strip after it: drop
    # the last half of the strip data, keep the IFD
    with open(out("tiff-short-strip.tif"), "wb") as f:
        f.write(bytes(t[: len(t) - 4000]))
    expect_status("tiff-short-strip.tif", "FORMAT", "render", "strip data cut short")
    # decompression bombs: headers claiming 100000 x 100000
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    with open(out("png-bomb.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
                png_chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + png_chunk(b"IEND", b""))
    expect_status("png-bomb.png", "TOO_LARGE")
    with open(out("tiff-bomb.tif"), "wb") as f:
        ents = [(256, 4, 1, 100000), (257, 4, 1, 100000), (258, 3, 1, 8), (259, 3, 1, 1),
                (262, 3, 1, 1), (273, 4, 1, 8 + 2 + 10 * 12 + 4), (277, 3, 1, 1),
                (278, 4, 1, 100000), (279, 4, 1, 16), (284, 3, 1, 1)]
        ifd = struct.pack("<H", len(ents))
        for tag, typ, cnt, val in ents:
            ifd += struct.pack("<HHI", tag, typ, cnt) + (struct.pack("<HH", val, 0) if typ == 3 else struct.pack("<I", val))
        f.write(b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + b"\0" * 16)
    expect_status("tiff-bomb.tif", "TOO_LARGE", "render")
    i = jpg.index(b"\xff\xc0")  # SOF0: length, precision, height, width
    with open(out("jpeg-bomb.jpg"), "wb") as f:
        f.write(jpg[:i + 5] + struct.pack(">HH", 65000, 65000) + jpg[i + 9:])
    expect_status("jpeg-bomb.jpg", "TOO_LARGE")
    # lying extensions: a PNG called .jpg reads as the PNG it is; text
    # called .pdf and a GIF are refused by their magic bytes
    shutil.copy(out("png-rgb.png"), out("png-named.jpg"))
    manifest.append("png-named.jpg pages=1 max=0 mean=0 png-rgb-1.ppm  # a PNG with a .jpg name")
    with open(out("text-named.pdf"), "w") as f:
        f.write("This is not a PDF, whatever the name says.\n")
    expect_status("text-named.pdf", "FORMAT")
    buf = io.BytesIO()
    photo.save(buf, "GIF")
    with open(out("image.gif"), "wb") as f:
        f.write(buf.getvalue())
    expect_status("image.gif", "FORMAT", note="unsupported format")
    open(out("empty.png"), "wb").close()
    expect_status("empty.png", "FORMAT")


def cache_stats():
    """The real files themselves (in testdata/cache/, too big to commit):
    per page the size and Pillow's mean RGB value."""
    for name, tol in (("viewfax.tif", 0.0), ("multipage.tif", 0.05)):
        im = Image.open(os.path.join(CACHE, name))
        stats = []
        for i in range(im.n_frames):
            im.seek(i)
            px = square(im, pil_rgb(im)).astype(np.float64)
            stats.append("%dx%d:%.4f" % (px.shape[1], px.shape[0], px.mean()))
        manifest.append("@%s pages=%d meantol=%g %s" % (name, im.n_frames, tol, " ".join(stats)))


def main():
    for f in ("bzip2-manual.pdf", "viewfax.tif", "multipage.tif"):
        if not os.path.exists(os.path.join(CACHE, f)):
            sys.exit("make-fixtures.py: %s missing: run bash testdata/fetch.sh" % f)
    shutil.rmtree(EXP, ignore_errors=True)
    os.makedirs(EXP)
    for f in os.listdir(HERE):
        if f.split(".")[-1] in ("png", "jpg", "tif", "pdf", "gif"):
            os.unlink(out(f))
    with tempfile.TemporaryDirectory() as tmp:
        text, frames, fax = base_images(tmp)
        make_png(text, frames[0])
        make_jpeg(text, frames[0])
        make_tiff(text, frames, fax, tmp)
        make_pdf(tmp)
        make_bad(frames[0])
    cache_stats()
    with open(out("expected.txt"), "w") as f:
        f.write("# made by make-fixtures.py; fixture pages=N max=MAXERR mean=MEANERR EXPECTED.ppm...\n"
                "# or: fixture status=STATUS at=open|render; or: fixture pages=N pdftocairo\n")
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
