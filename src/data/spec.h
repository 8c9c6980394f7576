/* spec.h — dataset specs: "NAME[:LOCATION][:k=v,k=v]" option parsing and the openers behind
 * cn_dataset_open (internal to src/data). */
#ifndef CN_DATA_SPEC_H
#define CN_DATA_SPEC_H

#include "convnet/dataset.h"

#define SPEC_MAX_OPTS 16

typedef struct {
    const char *what; /* "folder", "synthetic-seg": labels messages */
    int n;
    char key[SPEC_MAX_OPTS][32];
    char val[SPEC_MAX_OPTS][256];
    int used[SPEC_MAX_OPTS];
} spec_opts;

/* Parse "k=v,k=v" (text may be NULL or empty); every key must be in `allowed` (NULL-ended):
 * an unknown key is an error listing them, with a suggestion. */
cn_status spec_parse(spec_opts *o, const char *what, const char *text, const char *const *allowed);
/* Typed getters: the default when absent; errors name the spec, key and value. */
cn_status spec_int(const spec_opts *o, const char *key, int64_t def, int64_t lo, int64_t hi, int64_t *out);
cn_status spec_double(const spec_opts *o, const char *key, double def, double lo, double hi, double *out);
/* "HxW" or "S" (square) */
cn_status spec_size(const spec_opts *o, const char *key, int64_t def_h, int64_t def_w, int64_t *h, int64_t *w);
/* one of the NULL-ended choices; *out is its index */
cn_status spec_choice(const spec_opts *o, const char *key, const char *const *choices, int def, int *out);
const char *spec_get(const spec_opts *o, const char *key); /* NULL when absent */

/* Split "LOCATION:k=v,..." at the last colon that starts an option list (a colon followed by
 * a word and '='); loc and opts receive the parts (opts "" when none). */
void spec_split(const char *text, char *loc, size_t loc_cap, char *opts, size_t opts_cap);

/* openers (train is required; test may be NULL = not wanted) */
cn_status cn_open_folder(cn_dataset **train, cn_dataset **test, const char *dir, const char *opts);
cn_status cn_open_synthetic_seg(cn_dataset **train, cn_dataset **test, const char *opts);
cn_status cn_open_synthetic_det(cn_dataset **train, cn_dataset **test, const char *opts);

#define CN_FASHION_DIR "/usr/share/datasets/fashion-mnist"
extern const char *const cn_fashion_classes[10];

#endif
