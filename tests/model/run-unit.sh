#!/bin/bash
# Generates the safetensors fixtures into a temporary directory and runs the
# unit test on them. usage: run-unit.sh TEST-BINARY make-fixtures.py PUBLISHED-CONFIG
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$2" "$tmp"
"$1" "$tmp" "$3"
