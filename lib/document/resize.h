/* resize.h - Pillow's BICUBIC resize of 8-bit RGB (lib/document/resize.c),
 * shared by the TIFF reader and the encoder's preprocessing. */
#ifndef OCR2_DOCUMENT_RESIZE_H
#define OCR2_DOCUMENT_RESIZE_H

#include <stdbool.h>
#include <stdint.h>

/* src [sh][sw][3] -> dst [dh][dw][3] exactly as Pillow's
 * Image.resize((dw, dh), Image.BICUBIC): a deterministic integer filter (a =
 * -0.5, support widened by the scale when shrinking). false only when out of
 * memory. */
bool ocr2_resize_bicubic(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh);

#endif
