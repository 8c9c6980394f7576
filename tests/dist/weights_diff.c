/* weights_diff A B — the largest absolute difference between the tensors of two safetensors
 * files (weights or checkpoints; every tensor of A must be in B with the same shape).
 * Prints "max_abs_diff X over N tensors (largest in NAME)"; exit 0, or 1 on a mismatch or an
 * unreadable file. A helper of tests/cli/test_mpi.sh. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convnet/convnet.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s A.safetensors B.safetensors\n", argv[0]);
        return 1;
    }
    cn_safetensors *a = NULL, *b = NULL;
    int rc = 1;
    if (cn_safetensors_load(&a, argv[1]) != CN_OK || cn_safetensors_load(&b, argv[2]) != CN_OK) {
        fprintf(stderr, "weights_diff: %s\n", cn_last_error());
        goto done;
    }
    double worst = 0;
    const char *where = "-";
    int n = 0;
    for (int i = 0; i < cn_safetensors_count(a); i++) {
        cn_st_tensor ta, tb;
        cn_safetensors_get(a, i, &ta);
        if (strncmp(ta.name, "optim.", 6) == 0) continue; /* checkpoints: optimizer buffers */
        if (cn_safetensors_find(b, ta.name, &tb) != CN_OK || ta.numel != tb.numel) {
            fprintf(stderr, "weights_diff: %s: '%s' is missing or has another shape\n", argv[2], ta.name);
            goto done;
        }
        float *x = cn_malloc((size_t)ta.numel * sizeof(float) + 4, "a"), *y = cn_malloc((size_t)tb.numel * sizeof(float) + 4, "b");
        if (!x || !y || cn_safetensors_to_f32(&ta, x) != CN_OK || cn_safetensors_to_f32(&tb, y) != CN_OK) {
            fprintf(stderr, "weights_diff: %s\n", cn_last_error());
            cn_free(x);
            cn_free(y);
            goto done;
        }
        for (int64_t k = 0; k < ta.numel; k++) {
            double d = fabs((double)x[k] - (double)y[k]);
            if (!(d <= worst)) worst = d, where = ta.name; /* NaN counts as the worst */
        }
        cn_free(x);
        cn_free(y);
        n++;
    }
    printf("max_abs_diff %.3g over %d tensors (largest in %s)\n", worst, n, where);
    rc = 0;
done:
    cn_safetensors_destroy(a);
    cn_safetensors_destroy(b);
    return rc;
}
