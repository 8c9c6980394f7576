/* layercheck.h — gradient checks of whole layers, through the model API.
 *
 * cn_layercheck(text, batch, seed, tol, label) builds a model from `text` (an [input] block
 * and the layers under test), plans it for training, initializes it from `seed` (biases and
 * other zero-initialized parameters get small random values too, so their gradients are
 * exercised), fills the input with uniform(-1, 1) values, and compares by central
 * differences, with L = sum_i y_i r_i (fixed random r, accumulated in double):
 *   - dL/dx (the model input) and
 *   - dL/dp for every trainable parameter p
 * against cn_model_backward. Large tensors are checked at a stride so that about 200
 * elements of each are visited. Every failure prints `label` and the worst element. */
#ifndef CN_LAYERCHECK_H
#define CN_LAYERCHECK_H

#include <stdint.h>

typedef struct cn_layercheck_opts {
    double eps;        /* perturbation (default 1e-2) */
    double tol;        /* worst relative error allowed (default 1e-3) */
    double floor;      /* relative-error floor (default 1e-3) */
    float input_lo, input_hi; /* input range (default -1, 1) */
    int max_checks;    /* elements per tensor (default 200) */
    int distinct;      /* inputs: a random permutation of evenly spaced values in [lo, hi], so no
                          two are closer than (hi-lo)/n and none is within half that of 0 —
                          keeps max-pooling ties and ReLU-style kinks more than eps away when
                          eps < (hi-lo)/(2n) */
    int targets;       /* loss layers: 0 none, 1 class indices (from the input's axis 1),
                          2 binary 0/1 of the input's shape, 3 uniform(-1,1) of its shape */
    int64_t target_count; /* number of target values (default: N for 1, numel of input otherwise) */
} cn_layercheck_opts;

/* Returns 1 if every check passed. opts may be NULL for the defaults. */
int cn_layercheck(const char *model_text, int64_t batch, uint64_t seed, const cn_layercheck_opts *opts, const char *label);

#endif
