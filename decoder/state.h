/* state.h - the decoder's insides, shared by decoder.c (one sequence:
 * prefill and step) and batch.c (one step of several sequences): the bound
 * layers, the model, a context's cache and scratch, and the pieces of
 * arithmetic both must do identically (batch invariance, decoder.h). */
#ifndef OCR2_DECODER_STATE_H
#define OCR2_DECODER_STATE_H

#include <stdatomic.h>
#include <stdbool.h>

#include "compute/screen.h"
#include "decoder.h"

typedef struct {
	const ocr2_tensor *wq, *wk, *wv, *wo;
	float *ln_in, *ln_post;           /* [H] */
	bool moe;
	/* dense FFN */
	const ocr2_tensor *gate, *up, *down;
	/* MoE */
	float *router_w;                  /* [n_experts, H], f32 copy */
	ocr2_tensor router;               /* wraps router_w for ocr2_linear */
	const ocr2_tensor *sh_gate, *sh_up, *sh_down;
	const ocr2_tensor **e_gate, **e_up, **e_down; /* [n_experts] each */
} dec_layer;

struct dec_model {
	ocr2_config cfg;
	const ocr2_tensor *embed, *lm_head;
	float *norm;                      /* [H] */
	dec_layer *layers;                /* [n_layers] */
	int q_dim, kv_dim, ffn_max;       /* n_heads*hd, n_kv_heads*hd, widest FFN */
	ocr2_screen *screen;              /* lm_head's 8-bit copy for the choice, or NULL */
	bool kv_bf16;                     /* dec_set_kv_bf16: the next contexts' cache type */
};

struct dec_ctx {
	const dec_model *m;
	ocr2_pool *pool;
	int max_ctx, len;
	/* [n_layers][n_kv_heads][max_ctx][head_dim] of float, or of bf16
	 * (uint16_t) with kv_bf16 */
	void *kc, *vc;
	bool kv_bf16;
	size_t kv_bytes;                  /* of each */
	/* scratch for up to cap rows, grown by prefill only */
	int cap;
	float *x, *xn, *q, *att, *tmp;    /* [cap, H] (q, att: [cap, q_dim]) */
	float *kn, *vn;                   /* [cap, kv_dim] new keys and values */
	float *g, *u;                     /* [cap, ffn_max] */
	float *rl;                        /* [cap, n_experts] router probabilities */
	float *rope;                      /* [cap, head_dim] cos, sin at this call's positions */
	int *top;                         /* [cap, k] chosen experts */
	float *topw;                      /* [cap, k] their weights */
	int *etok;                        /* [cap * k] routed rows: token, by expert */
	float *ew;                        /* [cap * k] their router weights */
	int *eoff;                        /* [n_experts + 1] each expert's first row */
	float *erows, *eout;              /* [cap * k, H] gathered rows, expert output */
	float *eg, *eu;                   /* [cap * k, moe_intermediate] */
	float *wbuf;                      /* per thread: one expert widened to f32 */
	_Atomic int *wbusy;               /* [pool size] which wbuf slots are taken */
	/* attention score rows: [n_heads * att_blocks, max_ctx], sized once */
	int att_blocks;
	float *scores;
	float *sbuf;                      /* ocr2_screen_argmax's scratch */
	long long n_screened, n_full, n_exact; /* dec_ctx_choices */
	double *prof;                     /* dec_ctx_profile: seconds per phase */
	dec_trace_fn trace;               /* debugging hook, see decoder.h */
	void *trace_user;
	volatile int *cancel;             /* polled between a prefill's layers */
};

/* Row scratch for n rows (grown once; never in the per-token loop). */
ocr2_status dec_reserve(dec_ctx *c, int n);
/* Adds the time since *t to phase i when profiling; *t moves on. */
void dec_lap(dec_ctx *c, int i, double *t);
/* MODEL.md §5 router: rl [n, E] (the router product, f32) → softmax, top-k
 * experts per row into top/topw [n, K], weights scaled as the config says. */
void dec_route(dec_ctx *c, int n);
/* One row's MoE output: dst[H] = Σ over its experts in index order of
 * w_j · out[j] (out[j] the output of its j-th chosen expert), then + shared
 * (NULL: none). The one summation order every path uses. */
void dec_moe_sum(const ocr2_config *cf, const int *top, const float *topw,
		 const float *const *out, const float *shared, float *dst);
/* Stores one position's keys and values (k, v: [kv_dim], head after head)
 * at pos of layer l in c's cache, each head's rows contiguous. */
void dec_cache_put(dec_ctx *c, int l, int pos, const float *k, const float *v);
/* Layer l's attention for query row r of c: q [q_dim] against c's cache
 * positions 0..pos (pos included), into o [q_dim]; head h only. */
void dec_attend_head(const dec_ctx *c, int l, int h, const float *q, int pos, float *s,
		     float *o);

#endif
