#!/usr/bin/python3
"""Reference for ocr2_markdown_from_raw: the official Markdown conversion of
DeepSeek-OCR 2 (MODEL.md section 9), applied with Python's own `re` and
str.replace, step for step as the official HF infer() and vLLM PDF script do:

  1. drop a trailing '<｜end▁of▁sentence｜>', then str.strip()
  2. re.findall(r'(<\|ref\|>(.*?)<\|/ref\|><\|det\|>(.*?)<\|/det\|>)', text, re.DOTALL)
  3. matches whose text contains '<|ref|>image<|/ref|>' are images; each is
     replaced (str.replace, all occurrences) by '![](LINK)\n', LINK numbered
     by the image's index among image matches
  4. for each other match in order: replace it by '', then '\\coloneqq'->':=',
     '\\eqqcolon'->'=:', and (PDF script) '\n\n\n\n'->'\n\n', '\n\n\n'->'\n\n'

drop_images=True replaces image tags by nothing (ocr2's -f text).

Usage: markdown_ref.py DIR   writes DIR/NAME.md (default links images/N.jpg)
and DIR/NAME.p3.md (links img/p3-N.png, the template "img/p%p-%n.png" with
page 3) for every DIR/NAME.raw.
"""
import os
import re
import sys

EOS = '<\uff5cend\u2581of\u2581sentence\uff5c>'


def convert(text, link, drop_images=False):
    if text.endswith(EOS):
        text = text[:-len(EOS)]
    text = text.strip()
    matches = re.findall(r'(<\|ref\|>(.*?)<\|/ref\|><\|det\|>(.*?)<\|/det\|>)', text, re.DOTALL)
    images = [m[0] for m in matches if '<|ref|>image<|/ref|>' in m[0]]
    others = [m[0] for m in matches if '<|ref|>image<|/ref|>' not in m[0]]
    for idx, m in enumerate(images):
        text = text.replace(m, '' if drop_images else '![](' + link(idx) + ')\n')
    for m in others:
        text = (text.replace(m, '').replace('\\coloneqq', ':=').replace('\\eqqcolon', '=:')
                .replace('\n\n\n\n', '\n\n').replace('\n\n\n', '\n\n'))
    return text


def main():
    d = sys.argv[1]
    for name in sorted(os.listdir(d)):
        if not name.endswith('.raw'):
            continue
        stem = name[:-4]
        with open(os.path.join(d, name), encoding='utf-8', newline='') as f:
            raw = f.read()
        for suffix, link in (('', lambda i: 'images/%d.jpg' % i),
                             ('.p3', lambda i: 'img/p3-%d.png' % i)):
            with open(os.path.join(d, stem + suffix + '.md'), 'w', encoding='utf-8',
                      newline='') as f:
                f.write(convert(raw, link))


if __name__ == '__main__':
    main()
