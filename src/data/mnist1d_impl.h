/* mnist1d_impl.h — the MNIST-1D generator's steps, internal to the library and visible to
 * tests (which check the per-example checkpoints of SPEC.md section 1.5). */
#ifndef CN_DATA_MNIST1D_IMPL_H
#define CN_DATA_MNIST1D_IMPL_H

#include "convnet/data.h"
#include "data/mt19937.h"

/* What one example drew, for checkpoint tests. */
typedef struct cn_mnist1d_trace {
    int padding;             /* zeros appended */
    double scale;            /* amplitude factor */
    int64_t shift;           /* circular right shift */
    double first_corr_normal; /* the first standard normal of the correlated noise (unscaled) */
    double first_iid_normal;  /* the first standard normal of the iid noise (unscaled) */
    double shear;            /* shear coefficient c */
} cn_mnist1d_trace;

/* Validate parameters; the message names the parameter and its value. */
cn_status cn_mnist1d_params_check(const cn_mnist1d_params *p);
/* Doubles of scratch that cn_mnist1d_example needs (params must be valid). */
size_t cn_mnist1d_scratch_len(const cn_mnist1d_params *p);

/* One raw (unstandardised) example from a normalised 12-point template, drawing from `rng` in
 * the upstream order: padding (rand), scale (rand), shift (choice), W correlated normals,
 * W iid normals, shear (rand), with W = template_len + padding_max.
 *   x (final_seq_length) = example(tmpl_x (12)); t (final_seq_length) = resampled tmpl_t (12)
 * t may be NULL; trace may be NULL. */
void cn_mnist1d_example(double *x, double *t, const double *tmpl_x, const double *tmpl_t, const cn_mnist1d_params *p,
                        cn_mt19937 *rng, double *scratch, cn_mnist1d_trace *trace);

/* numpy's float64 sum of a contiguous array (pairwise within 8192-element blocks, blocks
 * added in order), so mean/std match numpy to the last bit. */
double cn_np_sum(const double *a, int64_t n);

#endif
