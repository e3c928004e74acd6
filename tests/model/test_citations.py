#!/usr/bin/python3
"""Every section citation in the tree resolves to a heading of lib/model/MODEL.md,
every file MODEL.md names exists, and nothing cites the old external brief by
its lower-case name any more.

Headings: "## 3. Image preprocessing", "### 3.2 Crop grid", "#### 4.1.2 ...": the
number of '#' is one more than the number's parts. Citations: "MODEL.md §N" with
lists and ranges ("§5, §6, §8", "§6/§7", "§3–§8", "§1.1-§1.3"), "MODEL.md section N",
and any bare "§N" (in this tree § means MODEL.md). The placeholder "§N" is allowed.
Scanned: C, headers, Python, shell (and #! scripts), meson, Markdown, man pages
(.scd) under the source root, minus .git, build folders, generated test data and
this file (its self-test holds broken citations on purpose).

Usage: test_citations.py [SOURCE_ROOT]   (default: two folders up from here)
Exit 0 = every citation resolves; 1 = a broken one (listed as path:line)."""
import os
import re
import sys

DOC = os.path.join("lib", "model", "MODEL.md")
HEADING = re.compile(r"^(#{2,6}) (\d+(?:\.\d+)*)\.? ")
NUM = r"\d+(?:\.\d+)*"
# a bare section number, or the start of a list after MODEL.md
SECTION = re.compile(r"§(?:(" + NUM + r")|(N\b)|(\S?))")
SECTION_WORD = re.compile(r"MODEL\.md,? sections? (" + NUM + r")")
# any spelling of the file name but the one in the tree (built here so that
# this file does not match itself)
OLD_NAME = re.compile(r"(?i)(?<![\w-])" + "model" + r"\.md")
# a path in the tree, as MODEL.md names the code
PATH = re.compile(r"\b(?:lib|encoder|decoder|cmd|tests|testdata|man)/[\w./-]*\w")
EXTENSIONS = (".c", ".h", ".py", ".sh", ".build", ".md", ".scd")
NAMES = ("meson_options.txt", "meson.options")
SKIP_DIRS = (".git", os.path.join("testdata", "cache"), os.path.join("testdata", "models"),
             os.path.join("tests", "fuzz", "corpus"))


def headings(text):
    """The section numbers of MODEL.md, and complaints about its own numbering."""
    found, bad = set(), []
    for i, line in enumerate(text.split("\n"), 1):
        m = HEADING.match(line)
        if not m:
            continue
        num = m.group(2)
        if len(m.group(1)) != num.count(".") + 2:
            bad.append("%s:%d: heading %s at level %d" % (DOC, i, num, len(m.group(1))))
        if num in found:
            bad.append("%s:%d: heading %s twice" % (DOC, i, num))
        found.add(num)
    return found, bad


def check_text(path, text, sections):
    """Broken citations in one file, as "path:line: why"; and how many were checked."""
    bad, n = [], 0
    for i, line in enumerate(text.split("\n"), 1):
        for m in OLD_NAME.finditer(line):
            if m.group(0) != "MODEL.md":
                bad.append("%s:%d: cites %s: the model description is %s" %
                           (path, i, m.group(0), DOC))
        cited = [m.group(1) for m in SECTION_WORD.finditer(line)]
        for m in SECTION.finditer(line):
            if m.group(1):
                cited.append(m.group(1))
            elif not m.group(2):
                bad.append("%s:%d: '§%s' is not a section number" % (path, i, m.group(3)))
        for num in cited:
            n += 1
            if num not in sections:
                bad.append("%s:%d: MODEL.md §%s: no such heading in %s" % (path, i, num, DOC))
    return bad, n


def scanned(root):
    me = os.path.realpath(__file__)
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        dirs[:] = sorted(x for x in dirs
                         if os.path.normpath(os.path.join(rel, x)) not in SKIP_DIRS
                         and not os.path.exists(os.path.join(d, x, "meson-private")))
        for f in sorted(files):
            p = os.path.join(d, f)
            if os.path.islink(p) or os.path.realpath(p) == me:
                continue
            if not (f.endswith(EXTENSIONS) or f in NAMES):
                with open(p, "rb") as fh:
                    if fh.read(2) != b"#!":
                        continue
            yield os.path.relpath(p, root)


def self_test(sections):
    """The checker on lines it must pass and lines it must refuse."""
    good = ["(MODEL.md §3.2)", "MODEL.md §5, §6, §8.", "MODEL.md §3–§8", "MODEL.md §6/§7",
            "MODEL.md §1.1-§1.3", "see §4.1.2.", "cited as `MODEL.md §N`",
            "MODEL.md section 9", "lib/model/MODEL.md"]
    broken = ["MODEL.md §3.99", "MODEL.md §5, §66", "MODEL.md §3–§99", "MODEL.md § 3",
              "MODEL.md section 99", "the " + "model" + ".md brief", "Model" + ".md §3",
              "(§4.2.99)"]
    errors = []
    for line in good:
        if check_text("good", line, sections)[0]:
            errors.append("self-test: refused a good citation: %s" % line)
    for line in broken:
        if not check_text("broken", line, sections)[0]:
            errors.append("self-test: passed a broken citation: %s" % line)
    return errors


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", "..")
    with open(os.path.join(root, DOC), encoding="utf-8") as f:
        sections, errors = headings(f.read())
    # the numbers the code has always cited must still be there
    for num in ("0.1", "1", "2.2", "3", "4.1.2", "5", "6", "7", "8", "9", "10", "11"):
        if num not in sections:
            errors.append("%s: no heading %s" % (DOC, num))
    if not errors:
        errors += self_test(sections)
    # the files MODEL.md names as implementing a section exist (it is written
    # from the code: a moved file must move its mention too)
    with open(os.path.join(root, DOC), encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            for m in PATH.finditer(line):
                if not os.path.exists(os.path.join(root, m.group(0))):
                    errors.append("%s:%d: names %s, which is not in the tree" % (DOC, i, m.group(0)))
    files = n = 0
    for rel in scanned(root):
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            bad, k = check_text(rel, f.read(), sections)
        errors += bad
        files += k > 0
        n += k
    if n < 50:
        errors.append("only %d citations found: is %s the source root?" % (n, root))
    for e in errors:
        print("FAIL " + e)
    print("%d section citations in %d files, %d headings in %s: %s" %
          (n, files, len(sections), DOC, "%d broken" % len(errors) if errors else "ok"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
