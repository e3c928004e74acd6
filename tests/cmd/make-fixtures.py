#!/usr/bin/python3
"""Writes the small documents the cli tests read (Pillow as the reference
encoder): fixtures/page.png 400x300 with a red figure at pixels (100,60)-(300,180),
fixtures/small.png 64x48, fixtures/photo.jpg 80x60, fixtures/three.pdf (three
pages, 144 dpi pages of 288x216 points), fixtures/truncated.png (page.png cut
in half) and fixtures/lying.png (text named .png). Run from tests/cmd/."""
from PIL import Image, ImageDraw

page = Image.new('RGB', (400, 300), (255, 255, 255))
d = ImageDraw.Draw(page)
d.rectangle([100, 60, 299, 179], fill=(255, 0, 0))
d.rectangle([20, 10, 380, 40], fill=(0, 0, 0))
page.save('fixtures/page.png', optimize=True)
Image.new('RGB', (64, 48), (200, 220, 240)).save('fixtures/small.png')
Image.new('RGB', (80, 60), (30, 120, 60)).save('fixtures/photo.jpg', quality=80)
pages = [Image.new('RGB', (576, 432), c) for c in ((255, 255, 255), (230, 230, 230), (200, 200, 200))]
pages[0].save('fixtures/three.pdf', save_all=True, append_images=pages[1:], resolution=144)
data = open('fixtures/page.png', 'rb').read()
open('fixtures/truncated.png', 'wb').write(data[:len(data) // 2])
open('fixtures/lying.png', 'w').write('this is not a PNG file\n')
