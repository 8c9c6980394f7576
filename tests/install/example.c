/* example.c — a program outside the tree, built against the installed convnet. */
#include <convnet/convnet.h>
#include <stdio.h>

int main(void)
{
    cn_tensor *t = NULL;
    if (cn_tensor_create(&t, 4, (int64_t[]){2, 3, 8, 8}) != CN_OK) {
        fprintf(stderr, "%s\n", cn_last_error());
        return 1;
    }
    cn_rng r;
    cn_rng_init(&r, 1, CN_STREAM_USER);
    cn_rng_fill_normal(&r, t->data, (size_t)cn_tensor_numel(t), 0, 1);
    cn_status st = cn_tensor_create(&(cn_tensor *){NULL}, 2, (int64_t[]){0, 3});
    printf("convnet %s: %lld elements; zero dim gives \"%s\"\n", cn_version(), (long long)cn_tensor_numel(t),
           cn_last_error());
    cn_tensor_destroy(t);
    return st == CN_STATUS_SHAPE ? 0 : 1;
}
