/* hello_tensor.c — the README's example: a seeded tensor written to x.npy. */
#include <convnet/convnet.h>
#include <stdio.h>

int main(void) {
    cn_tensor *x;
    if (cn_tensor_create(&x, 4, (int64_t[]){8, 3, 32, 32}) != CN_OK) {   /* N, C, H, W */
        fprintf(stderr, "%s\n", cn_last_error());  /* says which dimension was wrong, and why */
        return 1;
    }
    cn_rng r;  cn_rng_init(&r, 42, CN_STREAM_INIT);                      /* same seed, same numbers */
    cn_rng_fill_normal(&r, x->data, (size_t)cn_tensor_numel(x), 0, 1);   /* at any thread count */
    cn_status st = cn_npy_save_tensor("x.npy", x);                        /* atomic write */
    cn_tensor_destroy(x);
    return st == CN_OK ? 0 : 1;
}
