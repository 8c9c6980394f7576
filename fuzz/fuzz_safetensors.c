/* fuzz_safetensors.c — safetensors files through cn_safetensors_parse (the parser
 * cn_safetensors_load uses), then everything a caller does with an accepted file: every
 * tensor by index and by name, conversion of every value, the metadata, and, when the file
 * carries a convnet model (metadata "convnet.model"), the model: parse, plan at batch 1 and
 * load the weights into it (strictly, then allowing extra tensors), as cn_model_load_file_weights
 * does. The input is the whole file. */
#include "fuzz.h"

static void safetensors_model(const cn_safetensors *f)
{
    const char *text = cn_safetensors_metadata(f, CN_WEIGHTS_MODEL_KEY);
    if (!text) return;
    cn_model *m = NULL;
    cn_status st = cn_model_parse(&m, text, "fuzz.safetensors:convnet.model");
    if (st != CN_OK) {
        cn_fuzz_expect_error(st, "fuzz.safetensors:convnet.model");
        return;
    }
    if ((st = cn_model_plan(m, 1, CN_PLAN_INFER)) != CN_OK) {
        cn_fuzz_expect_error(st, NULL);
        cn_model_destroy(m);
        return;
    }
    for (int flags = CN_WEIGHTS_STRICT; flags <= CN_WEIGHTS_ALLOW_EXTRA; flags++) {
        st = cn_model_load_weights_from(m, f, NULL, 0, flags);
        if (st != CN_OK) {
            cn_fuzz_expect_error(st, "fuzz.safetensors");
            continue;
        }
        /* loaded: every parameter holds its tensor's values */
        for (int i = 0; i < cn_model_param_count(m); i++) {
            cn_param p;
            cn_st_tensor t;
            CN_FUZZ_ASSERT(cn_model_param(m, i, &p) == CN_OK, "param %d", i);
            CN_FUZZ_ASSERT(cn_safetensors_find(f, p.name, &t) == CN_OK, "loaded parameter '%s' is not in the file", p.name);
            CN_FUZZ_ASSERT(t.numel == cn_shape_numel(&p.shape), "'%s': %lld values for %lld", p.name, (long long)t.numel,
                           (long long)cn_shape_numel(&p.shape));
            float first;
            if (t.numel && cn_safetensors_to_f32(&(cn_st_tensor){.dtype = t.dtype, .numel = 1, .data = t.data}, &first) == CN_OK)
                CN_FUZZ_ASSERT(memcmp(&first, p.value, sizeof first) == 0, "'%s'[0] was not loaded", p.name);
        }
    }
    cn_model_destroy(m);
}

static int fuzz_safetensors(const uint8_t *data, size_t size)
{
    cn_safetensors *f = NULL;
    cn_status st = cn_safetensors_parse(&f, data, size, "fuzz.safetensors");
    if (st != CN_OK) {
        cn_fuzz_expect_error(st, "fuzz.safetensors");
        CN_FUZZ_ASSERT(f == NULL, "a failed parse returned a file");
        return 0;
    }
    int n = cn_safetensors_count(f);
    CN_FUZZ_ASSERT(n >= 0, "count %d", n);
    uint64_t total = 0;
    const void *prev_end = NULL;
    for (int i = 0; i < n; i++) {
        cn_st_tensor t, u;
        CN_FUZZ_ASSERT(cn_safetensors_get(f, i, &t) == CN_OK, "get %d of %d", i, n);
        size_t es = cn_st_dtype_size(t.dtype);
        CN_FUZZ_ASSERT(es > 0 && t.ndim >= 0 && t.ndim <= CN_ST_MAX_DIMS, "'%s': dtype %d, ndim %d", t.name, (int)t.dtype, t.ndim);
        uint64_t numel = 1;
        for (int d = 0; d < t.ndim; d++) {
            CN_FUZZ_ASSERT(t.shape[d] >= 0, "'%s': shape[%d] = %lld", t.name, d, (long long)t.shape[d]);
            numel *= (uint64_t)t.shape[d]; /* cannot overflow: numel * es is at most the file's size */
        }
        CN_FUZZ_ASSERT((uint64_t)t.numel == numel && numel * es == t.nbytes, "'%s': numel %lld, nbytes %zu, shape product %llu",
                       t.name, (long long)t.numel, t.nbytes, (unsigned long long)numel);
        /* tensors come in data order and tile the data section */
        CN_FUZZ_ASSERT(!prev_end || t.data == prev_end, "'%s' does not start where the previous tensor ended", t.name);
        prev_end = (const unsigned char *)t.data + t.nbytes;
        total += t.nbytes;
        CN_FUZZ_ASSERT(cn_safetensors_find(f, t.name, &u) == CN_OK && u.data == t.data && u.nbytes == t.nbytes,
                       "find('%s') does not give the tensor get(%d) gave", t.name, i);
        /* every value converts (and is read: ASan checks the bounds) */
        float *v = malloc((size_t)t.numel * sizeof *v + 1);
        int64_t *iv = malloc((size_t)t.numel * sizeof *iv + 1);
        if (!v || !iv) abort();
        CN_FUZZ_ASSERT(cn_safetensors_to_f32(&t, v) == CN_OK, "to_f32 '%s'", t.name);
        st = cn_safetensors_to_i64(&t, iv);
        if (cn_st_dtype_is_float(t.dtype)) CN_FUZZ_ASSERT(st == CN_STATUS_UNSUPPORTED, "to_i64 of a float tensor: %d", (int)st);
        else if (st != CN_OK) CN_FUZZ_ASSERT(st == CN_STATUS_LIMIT && t.dtype == CN_ST_DTYPE_U64, "to_i64 '%s': %d", t.name, (int)st);
        free(v);
        free(iv);
    }
    CN_FUZZ_ASSERT(total <= size, "tensors hold %llu bytes in a %zu-byte file", (unsigned long long)total, size);
    for (int i = 0; i < cn_safetensors_metadata_count(f); i++) {
        const char *k = NULL, *v = NULL;
        CN_FUZZ_ASSERT(cn_safetensors_metadata_at(f, i, &k, &v) == CN_OK && k && v, "metadata %d", i);
        CN_FUZZ_ASSERT(cn_safetensors_metadata(f, k) == v, "metadata('%s') is not metadata_at(%d)", k, i);
    }
    safetensors_model(f);
    cn_safetensors_destroy(f);
    return 1;
}

CN_FUZZ_TARGET(safetensors)
