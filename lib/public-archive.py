#!/usr/bin/env python3
"""public-archive.py - the installed libocr2.a, with only ocr2.h's functions global.

  public-archive.py symbols OCR2_H
      prints the functions ocr2.h declares, one a line (the export list)
  public-archive.py build OCR2_H INTERNAL_A OUT_A OBJCOPY AR CC...
      links every object of INTERNAL_A into one relocatable object (CC -r),
      makes every symbol it defines local except the export list (objcopy
      --keep-global-symbols), and packs that object alone into OUT_A

A static archive has no visibility of its own: what a member defines global,
the program that links it sees (and may clash with: json_parse, enc_load).
One partially linked object keeps the library's internal calls resolved
inside it, so its internal names can then be made local. Undefined symbols
(OpenBLAS, poppler, libc, ...) stay undefined, for the program's link."""
import os
import re
import subprocess
import sys
import tempfile


def exported(header):
    """The names of the functions ocr2.h declares: identifiers starting with
    ocr2_ directly followed by '(', outside comments and preprocessor lines
    (function-pointer members are spelled (*name)(...) and do not match)."""
    with open(header, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
    names = sorted(set(re.findall(r"\b(ocr2_[A-Za-z0-9_]*)\s*\(", text)))
    if not names:
        sys.exit(f"{header}: no ocr2_ functions found")
    return names


def build(header, internal, out, objcopy, ar, cc):
    names = exported(header)
    with tempfile.TemporaryDirectory() as tmp:
        keep = os.path.join(tmp, "keep.txt")
        with open(keep, "w", encoding="utf-8") as f:
            f.write("".join(n + "\n" for n in names))
        obj = os.path.join(tmp, "ocr2.o")
        subprocess.run(cc + ["-r", "-nostdlib", "-o", obj, "-Wl,--whole-archive", internal,
                             "-Wl,--no-whole-archive"], check=True)
        subprocess.run([objcopy, "--keep-global-symbols=" + keep, obj], check=True)
        if os.path.exists(out):
            os.unlink(out)
        subprocess.run([ar, "rcsD", out, obj], check=True)


def main(argv):
    if len(argv) == 3 and argv[1] == "symbols":
        print("\n".join(exported(argv[2])))
    elif len(argv) >= 8 and argv[1] == "build":
        build(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
