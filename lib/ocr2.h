/* ocr2.h - the public interface of libocr2: documents in, DeepSeek-OCR 2 text out.
 * The only installed header; everything else in the tree is private. */
#ifndef OCR2_H
#define OCR2_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Ownership, in one place: every *_new / *_load / *_open returns an object the
 * caller frees with the matching *_free, which accepts NULL. Strings and arrays
 * handed out inside result structs belong to the struct and die with its _free.
 * The library never prints and never exits: each call returns an ocr2_status and,
 * on failure, leaves a one-line message (naming the file and the problem) that
 * ocr2_errmsg() returns until the next failing call on the same thread.
 *
 * Threads: the library takes no locks around its objects.
 *  - One ocr2_model runs one ocr2_recognize at a time: it owns one thread pool
 *    (n_threads), which runs one job at a time, and that pool's scratch. Two
 *    threads that share a model must serialise their calls; or load a model
 *    per thread (different models may recognise at once; split the cores
 *    between them with n_threads). on_token is called, and cancel polled, on
 *    the thread that called ocr2_recognize.
 *  - An ocr2_doc is used by one thread at a time (rendering moves its state);
 *    different documents may be open and render on different threads.
 *  - An ocr2_tokenizer is read-only once loaded: encode, decode, token_id and
 *    vocab_size may run on one tokenizer from several threads at once; so may
 *    ocr2_pagesel_has on one selection.
 *  - ocr2_errmsg() is per thread.
 *  - Functions of no object may run on any thread at any time: ocr2_strerror,
 *    ocr2_version, ocr2_format_sniff, ocr2_format_name, the *_default_params,
 *    ocr2_pagesel_parse, ocr2_shard_parse, ocr2_shard_has, ocr2_blocks_parse,
 *    ocr2_grid_to_pixel, ocr2_markdown_from_raw, ocr2_image_write_png.
 *  - Process-wide: ocr2_model_load sets OpenBLAS's thread count to 1 (the
 *    model's own pool splits the products).
 *
 * Exports: the installed libocr2.a defines exactly the functions declared in
 * this file as global symbols (lib/public-archive.py reads them from here);
 * every other symbol of the library is local to it.
 */

typedef enum {
	OCR2_OK = 0,
	OCR2_ERR_IO,          /* file missing, unreadable or unwritable */
	OCR2_ERR_FORMAT,      /* unsupported, lying or corrupt input */
	OCR2_ERR_ENCRYPTED,   /* encrypted PDF */
	OCR2_ERR_TOO_LARGE,   /* absurd dimensions (decompression-bomb guard) */
	OCR2_ERR_EMPTY,       /* a document with no pages */
	OCR2_ERR_MODEL,       /* model directory missing or invalid */
	OCR2_ERR_NOMEM,
	OCR2_ERR_INVALID,     /* bad argument or syntax (page ranges, shard, ...) */
	OCR2_ERR_UTF8,        /* invalid UTF-8 text */
	OCR2_ERR_INTERRUPTED, /* the cancel flag was raised */
	OCR2_ERR_NETWORK,     /* download failed */
	OCR2_ERR_CHECKSUM,    /* download did not match its published sha256 */
	OCR2_ERR_INTERNAL,
} ocr2_status;

const char *ocr2_strerror(ocr2_status s);
/* The message of the last failing call on this thread ("" if none). */
const char *ocr2_errmsg(void);
const char *ocr2_version(void);

/* ---- images and documents ---------------------------------------------- */

/* An 8-bit RGB raster, row-major, no padding: rgb[(y*width + x)*3 + c]. */
typedef struct {
	int width, height;
	uint8_t *rgb;
} ocr2_image;

void ocr2_image_free(ocr2_image *img); /* frees rgb, zeroes the struct */
/* Writes an RGB PNG atomically enough for tests; the CLI adds tmp+rename. */
ocr2_status ocr2_image_write_png(const ocr2_image *img, const char *path);

typedef enum {
	OCR2_FMT_UNKNOWN = 0,
	OCR2_FMT_PDF,
	OCR2_FMT_TIFF,
	OCR2_FMT_PNG,
	OCR2_FMT_JPEG,
} ocr2_format;

/* Format from magic bytes only (never the extension): PNG and JPEG signatures
 * and TIFF/BigTIFF headers at byte 0; "%PDF-" anywhere in the first 1024 bytes
 * (leading junk is tolerated as poppler and Acrobat tolerate it). */
ocr2_format ocr2_format_sniff(const void *buf, size_t n);
const char *ocr2_format_name(ocr2_format f);

typedef struct {
	double dpi;              /* PDF raster resolution; default 144 */
	/* refuse raster pages larger than this, and draw a PDF page that would be
	 * at the largest whole dpi that fits; default 1<<28, or $OCR2_MAX_PIXELS */
	int64_t max_pixels;
} ocr2_doc_params;

ocr2_doc_params ocr2_doc_default_params(void);

typedef struct ocr2_doc ocr2_doc;

/* Opens a document. path "-" reads standard input. Only the document's
 * structure is read here; pages are decoded one at a time by _render, so a
 * 1000-page PDF never holds more than one page image. */
ocr2_status ocr2_doc_open(const char *path, const ocr2_doc_params *p, ocr2_doc **out);
ocr2_status ocr2_doc_open_memory(const void *data, size_t n, const char *name,
				 const ocr2_doc_params *p, ocr2_doc **out);
int ocr2_doc_page_count(const ocr2_doc *d);
ocr2_format ocr2_doc_format(const ocr2_doc *d);
/* Decodes page `index` (0-based) into *out (caller frees with ocr2_image_free).
 * PDF: the crop box (with /Rotate) at p->dpi, ceil(points * dpi / 72) pixels a
 * side, drawn as `pdftocairo -png -r DPI` draws it (identical pixels when the
 * page has no CropBox; otherwise as with -cropbox). TIFF: every directory is a
 * page. JPEG: EXIF orientation applied as Pillow's exif_transpose. Alpha is
 * composited on white: round((c*a + 255*(255-a)) / 255). Sizes over
 * max_pixels give OCR2_ERR_TOO_LARGE before any pixel memory is allocated
 * (a PDF page is drawn at a lower dpi instead; see ocr2_doc_render_dpi). */
ocr2_status ocr2_doc_render(ocr2_doc *d, int index, ocr2_image *out);
/* The resolution page `index` is declared at: a PDF page reports p->dpi (what
 * _render draws it at); a TIFF page, PNG or JPEG its own resolution tags
 * (JPEG: as shown, EXIF orientation applied); 0 and 0 when it declares none. */
ocr2_status ocr2_doc_page_dpi(ocr2_doc *d, int index, double *xdpi, double *ydpi);
/* The text layer of PDF page `index` (0-based), for --skip-text: *text is
 * poppler's text of the page in its reading order (UTF-8, malloc'd, caller
 * frees), *has_text whether the page carries text: at least one character
 * that is not white space, a control or an invisible format character
 * (zero-width space, joiners, BOM). Other formats give "" and 0. */
ocr2_status ocr2_doc_page_text(ocr2_doc *d, int index, char **text, int *has_text);
/* The resolution the last ocr2_doc_render drew its PDF page at: p->dpi, or
 * less when the page would exceed max_pixels at p->dpi (the largest whole dpi
 * at which it fits); 0 for TIFF, PNG and JPEG. */
double ocr2_doc_render_dpi(const ocr2_doc *d);
void ocr2_doc_free(ocr2_doc *d);

/* Page selection "1,3-5,9-" (1-based, open-ended ranges allowed). */
typedef struct ocr2_pagesel ocr2_pagesel;
ocr2_status ocr2_pagesel_parse(const char *spec, ocr2_pagesel **out);
int ocr2_pagesel_has(const ocr2_pagesel *s, int page1);  /* NULL selects all */
void ocr2_pagesel_free(ocr2_pagesel *s);

/* Shards "K/N" (1 <= K <= N <= 1000000, plain decimal digits only). */
ocr2_status ocr2_shard_parse(const char *spec, int *k, int *n);
/* Whether an input belongs to shard k of n: FNV-1a 64 of its name (as mirrored
 * under -o) modulo n equals k-1, so every machine computes the same slices. */
int ocr2_shard_has(const char *name, int k, int n);

/* ---- the model ----------------------------------------------------------- */

typedef struct ocr2_model ocr2_model;

/* The vision encoder's arithmetic (ocr2 scan --precision). The language
 * model computes in float32 whatever it is. */
typedef enum {
	OCR2_PRECISION_AUTO = 0, /* BF16 where the CPU has native bf16 dot products, else F32 */
	OCR2_PRECISION_F32,      /* float32 throughout: the reference ocr2's tests hold it to */
	/* The matrix products with bf16 weights, and SAM's attention, round their
	 * inputs to bf16 and sum in float32 (avx512_bf16), the precision the
	 * official implementation runs at. F32 on a CPU without avx512_bf16. */
	OCR2_PRECISION_BF16,
} ocr2_precision;

/* What p runs as on this CPU: OCR2_PRECISION_F32 or _BF16, never _AUTO. */
ocr2_precision ocr2_precision_resolve(ocr2_precision p);
const char *ocr2_precision_name(ocr2_precision p); /* "auto", "f32", "bf16" */

/* The language model's KV cache (ocr2 scan --kv-cache). */
typedef enum {
	OCR2_KV_F32 = 0, /* the default: the float32 reference's numbers */
	/* keys and values rounded to bf16 as they are stored, as the official
	 * bf16 implementation keeps them: half the memory per page and half the
	 * bytes each decode step reads from the cache, numbers a little off the
	 * float32 reference's (greedy tokens may differ) */
	OCR2_KV_BF16,
} ocr2_kv_type;

typedef struct {
	int n_threads;          /* 0 = all cores */
	/* polled while loading (between steps, and every 128 MiB while the
	 * weights are read in); nonzero stops with OCR2_ERR_INTERRUPTED */
	volatile int *cancel;
	ocr2_precision precision; /* default AUTO */
	ocr2_kv_type kv_cache;    /* default OCR2_KV_F32 */
} ocr2_model_params;

ocr2_model_params ocr2_model_default_params(void);
/* dir holds config.json, tokenizer.json and *.safetensors as published. */
ocr2_status ocr2_model_load(const char *dir, const ocr2_model_params *p, ocr2_model **out);
void ocr2_model_free(ocr2_model *m);

typedef enum {
	OCR2_PAGE_OK = 0,
	OCR2_PAGE_TRUNCATED, /* hit max_tokens without EOS */
} ocr2_page_status;

typedef struct {
	const char *prompt;    /* full prompt with one "<image>"; NULL = document prompt */
	int max_tokens;        /* default 8192 */
	int ngram;             /* repetition guard n; 0 = off; default 20 */
	int ngram_window;      /* window over generated tokens; 0 = whole sequence (HF) */
	int no_crop;           /* global 1024 view only */
	const char *dump_dir;  /* write features.f32, logits.f32, tokens.txt, dump.json */
	volatile int *cancel;  /* polled between the encoder's layers, the prefill's
				* layers and the tokens; nonzero stops with INTERRUPTED */
	/* Called after each generated token (may be NULL). */
	void (*on_token)(void *user, int n_generated);
	void *user;
} ocr2_recognize_params;

ocr2_recognize_params ocr2_recognize_default_params(void);

typedef struct {
	char *text;            /* model output, special tokens kept, trailing EOS removed */
	int32_t *tokens;       /* generated ids, EOS excluded */
	int n_tokens;
	int n_prompt;          /* prefill length */
	ocr2_page_status status;
	double t_preprocess, t_encode, t_prefill, t_decode; /* seconds */
} ocr2_result;

ocr2_status ocr2_recognize(ocr2_model *m, const ocr2_image *img,
			   const ocr2_recognize_params *p, ocr2_result *out);
void ocr2_result_free(ocr2_result *r);
/*
 * Several pages at once. A batch keeps up to max_pages pages in flight on one
 * model and decodes them together: each decode step reads the weights once
 * for all of them (a routed expert once for all the pages routed to it), so
 * a folder of documents takes less time than page after page. A page's
 * result is bit for bit the one ocr2_recognize gives it alone, whatever
 * else is in the batch and however many: each page's rows are computed with
 * the arithmetic, in the order, of a page alone (lib/model/MODEL.md §12).
 *
 * The batch runs on the model's pool: while it holds pages, make no other
 * call on the model (ocr2_recognize included). Like ocr2_recognize, one
 * thread at a time. on_token and cancel work per page, on the calling thread.
 */
typedef struct ocr2_batch ocr2_batch;
/* max_pages: 1..256. */
ocr2_status ocr2_batch_new(ocr2_model *m, int max_pages, ocr2_batch **out);
void ocr2_batch_free(ocr2_batch *b); /* drops the pages in flight */
int ocr2_batch_max(const ocr2_batch *b);
int ocr2_batch_count(const ocr2_batch *b); /* pages in flight */
/* Starts a page: its encoder, prompt and prefill run here, while the other
 * pages wait; then it decodes with them. p is copied, but what it points to
 * (prompt, dump_dir, user) must stay valid until the page comes back; img
 * may be freed on return. tag comes back with the page. On failure nothing
 * is added: the batch was full (OCR2_ERR_INVALID), or the page failed as
 * ocr2_recognize would have failed on it (bad image, prompt too long,
 * cancelled, out of memory), with its message in ocr2_errmsg(). */
ocr2_status ocr2_batch_add(ocr2_batch *b, const ocr2_image *img, const ocr2_recognize_params *p,
			   void *tag);
/* Decodes the pages in flight together until one of them ends, and hands it
 * back: its tag, its result in *out (filled as ocr2_recognize fills it; its
 * t_decode is the wall time it spent in the batch) and, as the return value,
 * the status ocr2_recognize would have returned for it. Pages end in any
 * order: a short page leaves early and another can be added in its place.
 * A page that fails or is cancelled ends alone; the others go on.
 * OCR2_ERR_INVALID with *tag NULL when the batch is empty. */
ocr2_status ocr2_batch_next(ocr2_batch *b, void **tag, ocr2_result *out);
/* The batch ocr2 scan uses when none is asked for: the size that decodes
 * fastest on the machines measured (README, performance), lowered so that
 * the pages' caches fit the memory the process may still take at
 * max_tokens each (MemAvailable and a cgroup limit). At least 1. */
int ocr2_batch_default(const ocr2_model *m, int max_tokens);
/* How many pages' caches at max_tokens each fit three quarters of the memory
 * the process may still take (ocr2_batch_default without the measured
 * size); 0 when unknown. For a notice when a larger batch is asked for. */
int ocr2_batch_fit(const ocr2_model *m, int max_tokens);

#define OCR2_PROMPT_DOCUMENT "<image>\n<|grounding|>Convert the document to markdown."
#define OCR2_PROMPT_FREE "<image>\nFree OCR."

/* ---- tokenizer (needs only tokenizer.json) ------------------------------- */

typedef struct ocr2_tokenizer ocr2_tokenizer;
ocr2_status ocr2_tokenizer_load(const char *path, ocr2_tokenizer **out);
void ocr2_tokenizer_free(ocr2_tokenizer *t);
/* Encodes UTF-8 text (special tokens recognised verbatim, no BOS added).
 * *ids is malloc'd. Invalid UTF-8 gives OCR2_ERR_UTF8. */
ocr2_status ocr2_tokenizer_encode(const ocr2_tokenizer *t, const char *text, size_t len,
				  int32_t **ids, int *n);
/* Decodes ids to UTF-8 (special tokens kept as text). An id the tokenizer has
 * no token for (negative, past its last token, or a gap) is dropped, as
 * Hugging Face's decode drops it. *text is malloc'd. */
ocr2_status ocr2_tokenizer_decode(const ocr2_tokenizer *t, const int32_t *ids, int n,
				  char **text, size_t *len);
/* The id of an exact token text (added or vocabulary), or -1. */
int ocr2_tokenizer_token_id(const ocr2_tokenizer *t, const char *token);
int ocr2_tokenizer_vocab_size(const ocr2_tokenizer *t);

/* ---- output: grounding tags -> blocks -> Markdown / JSON ------------------ */

typedef struct {
	char *label;         /* "text", "title", "image", ... ("" for untagged text) */
	int n_boxes;
	int (*boxes)[4];     /* x1,y1,x2,y2 on the model's 0..999 grid */
	char *text;          /* the content after the tag, trimmed */
} ocr2_block;

typedef struct {
	ocr2_block *blocks;
	int n_blocks;
	int malformed;       /* tags that could not be parsed (kept as text) */
} ocr2_blocks;

/* Parses the raw model output. Never fails on malformed or truncated tags:
 * what cannot be parsed stays text. */
ocr2_status ocr2_blocks_parse(const char *raw, ocr2_blocks *out);
void ocr2_blocks_free(ocr2_blocks *b);
/* Maps a 0..999 grid coordinate to a pixel on a side of `size` pixels, as the
 * official scripts do: int(v / 999 * size). */
int ocr2_grid_to_pixel(int v, int size);
/* The official Markdown conversion of a page (MODEL.md §9), quirks included.
 * An image tag becomes "![](LINK)\n"; LINK is image_links with "%p" replaced
 * by `page`, "%n" by the image's index on the page (from 0) and "%%" by "%",
 * e.g. "images/%p_%n.jpg" (the official PDF script, page from 0). NULL gives
 * the official "images/%n.jpg"; "" drops image tags without a link (text).
 * *out is malloc'd. Fails only when out of memory. */
ocr2_status ocr2_markdown_from_raw(const char *raw, int page, const char *image_links,
				   char **out);

/* ---- output: searchable PDF, hOCR, layout pictures ----------------------- */

/* What the page writers need of one recognised page. */
typedef struct {
	int width, height;          /* the page image the model saw, in pixels */
	double dpi;                 /* the resolution it was made at (PDF: the render
				     * dpi); 0 = unknown */
	const ocr2_blocks *blocks;  /* the page's blocks in the model's reading order;
				     * NULL = no text (a failed or truncated page) */
} ocr2_page_ocr;

/*
 * Searchable PDF (lib/output/pdf.c, libqpdf). One writer per input document.
 * From a PDF: every page is kept as it is (content, fonts, own text,
 * annotations) and _add_text adds an invisible text layer to the pages it is
 * given; pages it is not given pass through unchanged. The source file must
 * stay in place until _write. From images (TIFF pages, PNG, JPEG): _add_image
 * appends a page sized by the image's resolution, the image at full
 * resolution (a JPEG's own bytes, bilevel as CCITT G4 or 1-bit Flate,
 * otherwise lossless Flate, gray when it is gray), the text over it. The text
 * of each block lies in its box, its lines spread over the box's height and
 * each stretched to the box's width, in a glyphless font whose ToUnicode map
 * makes any script searchable (the design: pdf.c's opening comment).
 */
typedef struct ocr2_pdf ocr2_pdf;
typedef struct {
	double image_dpi;  /* images that declare no resolution; default 300 */
} ocr2_pdf_params;
ocr2_pdf_params ocr2_pdf_default_params(void);
/* src: the input document, or NULL. A PDF is reopened through qpdf (from its
 * path, or from the bytes when it was read from stdin or memory); anything
 * else starts an empty PDF for _add_image / _add_page. */
ocr2_status ocr2_pdf_new(const ocr2_doc *src, const ocr2_pdf_params *p, ocr2_pdf **out);
/* The text layer of source page `index` (0-based), once per page. NULL
 * pg->blocks leaves the page unchanged. */
ocr2_status ocr2_pdf_add_text(ocr2_pdf *w, int index, const ocr2_page_ocr *pg);
typedef struct {
	const ocr2_image *image;  /* the pixels the model saw (required) */
	const void *jpeg;         /* the original JPEG file, or NULL: embedded as it is
				   * when it shows the same picture (else image) */
	size_t jpeg_len;
	double xdpi, ydpi;        /* the image's resolution; 0 = image_dpi */
} ocr2_pdf_image;
/* Appends a page with the image and the blocks' text (NULL: no text). The
 * writer copies what it needs; nothing need outlive the call. */
ocr2_status ocr2_pdf_add_image(ocr2_pdf *w, const ocr2_pdf_image *im, const ocr2_blocks *blocks);
/* Page `index` of d as `scan` has it: img is what _render gave, blocks the
 * parsed model output or NULL for a failed or truncated page. PDF pages get
 * their text layer (_add_text at d's dpi), image pages are appended
 * (_add_image with d's resolution and, for a JPEG, its bytes). */
ocr2_status ocr2_pdf_add_page(ocr2_pdf *w, ocr2_doc *d, int index, const ocr2_image *img,
			      const ocr2_blocks *blocks);
/* Writes the PDF to path (the caller's temporary: atomic replacement is the
 * caller's), removing it on failure. The same pages give the same bytes: no
 * dates, /ID derived from the content. A source opened without a password is
 * written unencrypted. May be called again after more pages. */
ocr2_status ocr2_pdf_write(ocr2_pdf *w, const char *path);
/* The same bytes to a file descriptor (standard output, a pipe), every write
 * checked; name is for messages. The whole file is assembled in memory
 * first: qpdf's C interface streams only to files. */
ocr2_status ocr2_pdf_write_fd(ocr2_pdf *w, int fd, const char *name);
void ocr2_pdf_free(ocr2_pdf *w);

/*
 * hOCR 1.2 (lib/output/hocr.c), one document per input, as strings the caller
 * writes (malloc'd, caller frees): _begin (title: the input's name), then
 * _page per page, then _end. Blocks are ocr_carea > ocr_par with the model's
 * box; ocr_line and ocrx_word boxes are estimated (the block's box split by
 * line count, the line's by character count), as the document's metadata
 * says. page is 1-based (ids, ppageno = page - 1); image names the page's
 * source (NULL for none). Fail only when out of memory (or a page has no size).
 */
ocr2_status ocr2_hocr_begin(const char *title, char **out);
ocr2_status ocr2_hocr_page(const ocr2_page_ocr *pg, int page, const char *image, char **out);
const char *ocr2_hocr_end(void); /* static */

/* The layout picture (lib/output/draw.c): a new image (caller frees with
 * ocr2_image_free) of img with each block's boxes outlined and labelled in the
 * label's colour, as the official result_with_boxes; write it with
 * ocr2_image_write_png. */
ocr2_status ocr2_draw_blocks(const ocr2_image *img, const ocr2_blocks *b, ocr2_image *out);
/* The colour a label is drawn in (fixed per label). */
void ocr2_label_color(const char *label, uint8_t rgb[3]);

#ifdef __cplusplus
}
#endif
#endif
