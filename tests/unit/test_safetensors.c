/* test_safetensors.c — safetensors files: round trips of every dtype, byte-exact agreement
 * with the reference writer's documented output, files written by Python, conversions, and
 * every kind of malformed file (each must fail with a message that says what and where;
 * truncations, extensions and byte flips must fail cleanly, never crash), failed
 * allocations, and bad arguments to the writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "convnet/safetensors.h"
#include "fixture.h"
#include "test.h"

#define FIXTURE(name) CN_FIXTURE_DIR "/safetensors/" name

static const char *tmp_path(const char *name)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/cn_test_st_%d_%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid(), name);
    return buf;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static cn_st_tensor tensor(const char *name, cn_st_dtype dt, int ndim, const int64_t *shape, const void *data)
{
    cn_st_tensor t = {.name = name, .dtype = dt, .ndim = ndim, .data = data};
    for (int i = 0; i < ndim; i++) t.shape[i] = shape[i];
    return t;
}

/* ---- round trip ------------------------------------------------------------------------ */
static void test_round_trip(void)
{
    float f32[6] = {-3, -2.5f, 0, 1e-30f, 3.25f, 1e30f};
    int64_t i64[5] = {0, 9, -1, 1LL << 40, INT64_MIN};
    uint8_t u8 = 200;
    uint16_t f16[4] = {0x3c00, 0xc000, 0x3800, 0x7bff};   /* 1, -2, 0.5, 65504 */
    uint16_t bf16[4] = {0x3fc0, 0xc040, 0x0000, 0x8000};  /* 1.5, -3, 0, -0 */
    int8_t i8[3] = {-128, 0, 127};
    uint8_t bl[4] = {1, 0, 0, 1};
    double f64[2] = {0.1, -1e300};
    int32_t i32[1] = {-7};
    cn_st_tensor in[] = {
        tensor("i8", CN_ST_DTYPE_I8, 1, (int64_t[]){3}, i8),
        tensor("conv.weight", CN_ST_DTYPE_F32, 2, (int64_t[]){2, 3}, f32),
        tensor("labels", CN_ST_DTYPE_I64, 1, (int64_t[]){5}, i64),
        tensor("step", CN_ST_DTYPE_U8, 0, NULL, &u8),
        tensor("half", CN_ST_DTYPE_F16, 2, (int64_t[]){2, 2}, f16),
        tensor("brain", CN_ST_DTYPE_BF16, 1, (int64_t[]){4}, bf16),
        tensor("mask", CN_ST_DTYPE_BOOL, 1, (int64_t[]){4}, bl),
        tensor("double", CN_ST_DTYPE_F64, 1, (int64_t[]){2}, f64),
        tensor("empty", CN_ST_DTYPE_F32, 2, (int64_t[]){0, 3}, NULL),
        tensor("deep", CN_ST_DTYPE_I32, 8, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1}, i32),
    };
    int n = (int)(sizeof in / sizeof in[0]);
    const char *keys[] = {"epoch", "note"};
    const char *vals[] = {"3", "multi\nline \"quoted\" \xc3\xa9\xe2\x98\x83 \\ tab\t"};
    const char *p = tmp_path("rt.safetensors");
    CHECK_OK(cn_safetensors_save(p, in, n, keys, vals, 2));

    cn_safetensors *f;
    CHECK_OK(cn_safetensors_load(&f, p));
    if (!f) {
        remove(p);
        return;
    }
    CHECK_EQ_INT(cn_safetensors_count(f), n);
    CHECK(!strcmp(cn_safetensors_name(f), p));
    for (int i = 0; i < n; i++) {
        cn_st_tensor t;
        CHECK_OK(cn_safetensors_find(f, in[i].name, &t));
        size_t bytes = cn_st_dtype_size(in[i].dtype);
        for (int d = 0; d < in[i].ndim; d++) bytes *= (size_t)in[i].shape[d];
        CHECK_MSG(t.dtype == in[i].dtype && t.ndim == in[i].ndim && t.nbytes == bytes, "%s: dtype %s ndim %d nbytes %zu",
                  in[i].name, cn_st_dtype_name(t.dtype), t.ndim, t.nbytes);
        CHECK_MSG(!memcmp(t.shape, in[i].shape, sizeof t.shape), "%s: shape", in[i].name);
        CHECK_MSG(bytes == 0 || !memcmp(t.data, in[i].data, bytes), "%s: bytes differ", in[i].name);
    }
    CHECK_EQ_INT(cn_safetensors_metadata_count(f), 2);
    CHECK(cn_safetensors_metadata(f, "note") && !strcmp(cn_safetensors_metadata(f, "note"), vals[1]));
    CHECK(cn_safetensors_metadata(f, "epoch") && !strcmp(cn_safetensors_metadata(f, "epoch"), "3"));
    CHECK(cn_safetensors_metadata(f, "nope") == NULL);
    const char *k, *v;
    CHECK_OK(cn_safetensors_metadata_at(f, 1, &k, &v));
    CHECK(!strcmp(k, "note") && v == cn_safetensors_metadata(f, "note"));
    CHECK_ERR(cn_safetensors_metadata_at(f, 2, &k, &v), CN_STATUS_INVALID_ARG, "metadata index 2");

    /* data order: by decreasing element size, stable; each tensor aligned to its size */
    const char *order[] = {"labels", "double", "conv.weight", "empty", "deep", "half", "brain", "i8", "step", "mask"};
    cn_st_tensor t0, t;
    CHECK_OK(cn_safetensors_get(f, 0, &t0));
    for (int i = 0; i < n; i++) {
        CHECK_OK(cn_safetensors_get(f, i, &t));
        CHECK_MSG(!strcmp(t.name, order[i]), "data position %d holds '%s', expected '%s'", i, t.name, order[i]);
        CHECK_MSG(((const char *)t.data - (const char *)t0.data) % (long)cn_st_dtype_size(t.dtype) == 0, "%s misaligned", t.name);
    }
    CHECK_ERR(cn_safetensors_get(f, n, &t), CN_STATUS_INVALID_ARG, "index 10 is not in 0..9");
    CHECK_ERR(cn_safetensors_find(f, "conv.weigh", &t), CN_STATUS_NOT_FOUND, "no tensor named 'conv.weigh'");

    /* values through the converters */
    float out[8];
    int64_t iout[8];
    CHECK_OK(cn_safetensors_find(f, "half", &t));
    CHECK_OK(cn_safetensors_to_f32(&t, out));
    CHECK(out[0] == 1 && out[1] == -2 && out[2] == 0.5f && out[3] == 65504);
    CHECK_OK(cn_safetensors_find(f, "brain", &t));
    CHECK_OK(cn_safetensors_to_f32(&t, out));
    CHECK(out[0] == 1.5f && out[1] == -3 && out[2] == 0 && out[3] == 0 && signbit(out[3]));
    CHECK_OK(cn_safetensors_find(f, "labels", &t));
    CHECK_OK(cn_safetensors_to_i64(&t, iout));
    CHECK(!memcmp(iout, i64, sizeof i64));
    CHECK_OK(cn_safetensors_find(f, "double", &t));
    CHECK_OK(cn_safetensors_to_f32(&t, out));
    CHECK(out[0] == 0.1f && out[1] == -INFINITY); /* -1e300 overflows float: -inf, as a C cast does */
    CHECK_ERR(cn_safetensors_to_i64(&t, iout), CN_STATUS_UNSUPPORTED, "F64 is not an integer type");
    CHECK_OK(cn_safetensors_find(f, "step", &t));
    CHECK(t.ndim == 0 && t.numel == 1);
    CHECK_OK(cn_safetensors_to_i64(&t, iout));
    CHECK(iout[0] == 200);
    CHECK_OK(cn_safetensors_find(f, "empty", &t));
    CHECK(t.numel == 0 && t.nbytes == 0);
    CHECK_OK(cn_safetensors_to_f32(&t, NULL)); /* nothing to write */
    cn_safetensors_destroy(f);
    cn_safetensors_destroy(NULL);

    /* the header is padded to a multiple of 8 */
    size_t len;
    unsigned char *raw = read_file(p, &len);
    uint64_t hl = 0;
    for (int b = 7; raw && len > 8 && b >= 0; b--) hl = hl << 8 | raw[b];
    CHECK_MSG(raw && hl % 8 == 0 && hl > 100, "header size %llu", (unsigned long long)hl);
    free(raw);
    remove(p);
}

/* The reference writer's documented outputs (huggingface/safetensors, tensor.rs tests):
 * convnet writes the same bytes. */
static void expect_file(const char *path, const char *header, const void *data, size_t dlen, const char *label)
{
    size_t len, hl = strlen(header);
    unsigned char *raw = read_file(path, &len);
    unsigned char want[256] = {0};
    want[0] = (unsigned char)hl;
    memcpy(want + 8, header, hl);
    if (dlen) memcpy(want + 8 + hl, data, dlen);
    CHECK_MSG(raw && len == 8 + hl + dlen && !memcmp(raw, want, len), "%s: bytes differ from the reference writer's (%zu vs %zu bytes)",
              label, raw ? len : 0, 8 + hl + dlen);
    if (raw && len > 8) printf("     %s header: %.*s|\n", label, (int)(len - 8 - dlen), raw + 8);
    free(raw);
}

static void test_reference_bytes(void)
{
    const char *p = tmp_path("ref.safetensors");
    float v[6] = {0, 1, 2, 3, 4, 5};
    cn_st_tensor t = tensor("attn.0", CN_ST_DTYPE_F32, 3, (int64_t[]){1, 2, 3}, v);
    CHECK_OK(cn_safetensors_save(p, &t, 1, NULL, NULL, 0));
    expect_file(p, "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}", v, 24, "serialization");
    t = tensor("attn0", CN_ST_DTYPE_F32, 4, (int64_t[]){1, 1, 2, 3}, v);
    CHECK_OK(cn_safetensors_save(p, &t, 1, NULL, NULL, 0));
    expect_file(p, "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ", v, 24, "forced alignment");
    CHECK_OK(cn_safetensors_save(p, NULL, 0, NULL, NULL, 0));
    expect_file(p, "{}      ", NULL, 0, "empty");
    CHECK_OK(cn_safetensors_save(p, NULL, 0, (const char *[]){"framework"}, (const char *[]){"pt"}, 1));
    expect_file(p, "{\"__metadata__\":{\"framework\":\"pt\"}}     ", NULL, 0, "empty with metadata");
    cn_safetensors *f;
    CHECK_OK(cn_safetensors_load(&f, p));
    CHECK(f && cn_safetensors_count(f) == 0 && !strcmp(cn_safetensors_metadata(f, "framework"), "pt"));
    cn_safetensors_destroy(f);
    remove(p);
}

/* ---- files written by Python (tests/fixtures/gen_safetensors.py) ---------------------- */
static void expect_f32(const cn_safetensors *f, const char *name, cn_st_dtype dt, int ndim, const int64_t *shape,
                       const float *want, int64_t n)
{
    cn_st_tensor t;
    if (cn_safetensors_find(f, name, &t) != CN_OK) {
        CHECK_MSG(0, "%s: %s", name, cn_last_error());
        return;
    }
    CHECK_MSG(t.dtype == dt && t.ndim == ndim && t.numel == n, "%s: dtype %s ndim %d numel %lld", name, cn_st_dtype_name(t.dtype),
              t.ndim, (long long)t.numel);
    for (int d = 0; d < ndim && d < t.ndim; d++) CHECK_EQ_INT(t.shape[d], shape[d]);
    if (t.numel != n) return;
    float out[16];
    CHECK_OK(cn_safetensors_to_f32(&t, out));
    CHECK_ALLCLOSE(out, want, n, 0, 0, name); /* every value is exact in float32 */
}

static void test_python_fixture(void)
{
    cn_safetensors *f;
    CHECK_OK(cn_safetensors_load(&f, FIXTURE("python_dtypes.safetensors")));
    if (!f) return;
    CHECK_EQ_INT(cn_safetensors_count(f), 11);
    expect_f32(f, "f32", CN_ST_DTYPE_F32, 2, (int64_t[]){2, 3}, (float[]){-3, -2, -1, 0, 1, 2}, 6);
    expect_f32(f, "f64", CN_ST_DTYPE_F64, 1, (int64_t[]){4}, (float[]){0.5f, -1.25f, 1e10f, -0.0f}, 4);
    expect_f32(f, "f16", CN_ST_DTYPE_F16, 1, (int64_t[]){5}, (float[]){1, -2, 0.5f, 65504, 5.9604644775390625e-8f}, 5);
    expect_f32(f, "bf16", CN_ST_DTYPE_BF16, 1, (int64_t[]){3}, (float[]){1.5f, -3, 3.140625f}, 3);
    expect_f32(f, "i32", CN_ST_DTYPE_I32, 2, (int64_t[]){2, 2}, (float[]){-5, 0, 5, 2147483648.0f}, 4);
    expect_f32(f, "i16", CN_ST_DTYPE_I16, 1, (int64_t[]){2}, (float[]){-32768, 32767}, 2);
    expect_f32(f, "i8", CN_ST_DTYPE_I8, 1, (int64_t[]){3}, (float[]){-128, 0, 127}, 3);
    expect_f32(f, "u8", CN_ST_DTYPE_U8, 0, NULL, (float[]){200}, 1);
    expect_f32(f, "bool", CN_ST_DTYPE_BOOL, 1, (int64_t[]){4}, (float[]){1, 0, 0, 1}, 4);
    expect_f32(f, "empty", CN_ST_DTYPE_F32, 2, (int64_t[]){0, 4}, NULL, 0);
    cn_st_tensor t;
    int64_t iv[3];
    CHECK_OK(cn_safetensors_find(f, "i64", &t));
    CHECK_OK(cn_safetensors_to_i64(&t, iv));
    CHECK(iv[0] == -1 && iv[1] == 1LL << 40 && iv[2] == 7);
    /* the data was written in reverse header order: get() follows the data */
    CHECK_OK(cn_safetensors_get(f, 0, &t));
    CHECK(!strcmp(t.name, "empty") || !strcmp(t.name, "bool")); /* both begin at 0; empty is zero-sized */
    CHECK_OK(cn_safetensors_get(f, 10, &t));
    CHECK(!strcmp(t.name, "f32"));
    CHECK(!strcmp(cn_safetensors_metadata(f, "format"), "pt"));
    CHECK(!strcmp(cn_safetensors_metadata(f, "note"), "h\xc3\xa9llo \"w\"\\n")); /* \u00e9 decoded to UTF-8 */
    cn_safetensors_destroy(f);
    CHECK_OK(cn_safetensors_load(&f, FIXTURE("torch_conv.safetensors")));
    CHECK(f && !strcmp(cn_safetensors_metadata(f, "author"), "Zo\xc3\xab \xe2\x98\x83")); /* raw UTF-8 in the header */
    cn_safetensors_destroy(f);
}

/* ---- conversions of every dtype, from bit patterns -------------------------------------- */
static void test_conversions(void)
{
    struct {
        cn_st_dtype dt;
        unsigned char bytes[8];
        float want; /* NAN: expect NaN */
    } cases[] = {
        {CN_ST_DTYPE_F8_E4M3, {0x38}, 1.0f},          {CN_ST_DTYPE_F8_E4M3, {0x7e}, 448.0f},
        {CN_ST_DTYPE_F8_E4M3, {0x01}, 0.001953125f},  {CN_ST_DTYPE_F8_E4M3, {0xb8}, -1.0f},
        {CN_ST_DTYPE_F8_E4M3, {0x7f}, NAN},           {CN_ST_DTYPE_F8_E4M3, {0x78}, 256.0f},
        {CN_ST_DTYPE_F8_E5M2, {0x3c}, 1.0f},          {CN_ST_DTYPE_F8_E5M2, {0x7c}, INFINITY},
        {CN_ST_DTYPE_F8_E5M2, {0x01}, 1.52587890625e-05f}, {CN_ST_DTYPE_F8_E5M2, {0x7b}, 57344.0f},
        {CN_ST_DTYPE_F16, {0x01, 0x00}, 5.9604644775390625e-8f}, {CN_ST_DTYPE_F16, {0x00, 0xfc}, -INFINITY},
        {CN_ST_DTYPE_F16, {0x00, 0x7e}, NAN},         {CN_ST_DTYPE_F16, {0x55, 0x35}, 0.333251953125f},
        {CN_ST_DTYPE_BF16, {0x80, 0x7f}, INFINITY},   {CN_ST_DTYPE_BF16, {0x49, 0x40}, 3.140625f},
        {CN_ST_DTYPE_U16, {0xff, 0xff}, 65535},       {CN_ST_DTYPE_I16, {0x00, 0x80}, -32768},
        {CN_ST_DTYPE_U32, {0xff, 0xff, 0xff, 0xff}, 4294967296.0f},
        {CN_ST_DTYPE_I32, {0x00, 0x00, 0x00, 0x80}, -2147483648.0f},
        {CN_ST_DTYPE_U64, {0, 0, 0, 0, 0, 0, 0, 0x80}, 9223372036854775808.0f},
        {CN_ST_DTYPE_I64, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, -1},
        {CN_ST_DTYPE_F64, {0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, 1.0f},
        {CN_ST_DTYPE_BOOL, {0x02}, 1.0f},             {CN_ST_DTYPE_U8, {0xff}, 255},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cn_st_tensor t = {.name = "x", .dtype = cases[i].dt, .ndim = 0, .numel = 1, .data = cases[i].bytes};
        float got = 0;
        CHECK_OK(cn_safetensors_to_f32(&t, &got));
        int ok = isnan(cases[i].want) ? isnan(got) : got == cases[i].want;
        CHECK_MSG(ok, "case %zu: %s bytes %02x %02x -> %.9g, expected %.9g", i, cn_st_dtype_name(cases[i].dt), cases[i].bytes[0],
                  cases[i].bytes[1], got, cases[i].want);
    }
    unsigned char big[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    cn_st_tensor t = {.name = "u", .dtype = CN_ST_DTYPE_U64, .ndim = 0, .numel = 1, .data = big};
    int64_t iv;
    CHECK_ERR(cn_safetensors_to_i64(&t, &iv), CN_STATUS_LIMIT, "element 0 is 18446744073709551615, above INT64_MAX");
    CHECK(!strcmp(cn_st_dtype_name(CN_ST_DTYPE_BF16), "BF16") && cn_st_dtype_size(CN_ST_DTYPE_F64) == 8);
    CHECK(!strcmp(cn_st_dtype_name(CN_ST_DTYPE_COUNT_), "?") && cn_st_dtype_size(CN_ST_DTYPE_COUNT_) == 0);
    CHECK(cn_st_dtype_is_float(CN_ST_DTYPE_F8_E4M3) && !cn_st_dtype_is_float(CN_ST_DTYPE_BOOL));
}

/* ---- malformed files ----------------------------------------------------------------------- */
/* prefix (header length) + header + dlen data bytes (values 0, 1, 2, ...) */
static size_t make_st(unsigned char *buf, const char *header, size_t dlen)
{
    size_t hl = strlen(header);
    for (int b = 0; b < 8; b++) buf[b] = (unsigned char)((uint64_t)hl >> (8 * b));
    memcpy(buf + 8, header, hl);
    for (size_t i = 0; i < dlen; i++) buf[8 + hl + i] = (unsigned char)i;
    return 8 + hl + dlen;
}

static void expect_bad(const char *header, size_t dlen, cn_status want, const char *substr)
{
    unsigned char buf[1024];
    size_t n = make_st(buf, header, dlen);
    cn_safetensors *f = (cn_safetensors *)&f; /* must be reset to NULL */
    int before = cn_test_failures;
    CHECK_ERR(cn_safetensors_parse(&f, buf, n, "bad.st"), want, substr);
    CHECK(f == NULL);
    if (cn_test_failures != before) printf("     (header was: %s)\n", header);
}

#define T(name, dtype, shape, b, e) "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

static void test_malformed(void)
{
    unsigned char buf[1024];
    cn_safetensors *f;
    size_t n;
    /* sanity: the helper makes valid files */
    n = make_st(buf, "{" T("a", "F32", "[2]", 0, 8) "}", 8);
    CHECK_OK(cn_safetensors_parse(&f, buf, n, "ok.st"));
    cn_safetensors_destroy(f);
    n = make_st(buf, "{ \"__metadata__\" : {\"k\": \"v\"},\n\t" T("a", "F32", "[2]", 0, 8) " }   \n", 8);
    CHECK_OK(cn_safetensors_parse(&f, buf, n, "ok.st")); /* JSON whitespace anywhere inside, and as padding */
    cn_safetensors_destroy(f);

    /* the size prefix */
    CHECK_ERR(cn_safetensors_parse(&f, "\x02\0\0\0", 4, "tiny.st"), CN_STATUS_FORMAT, "tiny.st: offset 0: the file is 4 bytes, too short");
    n = make_st(buf, "{}", 0);
    buf[0] = 9;
    CHECK_ERR(cn_safetensors_parse(&f, buf, n, "long.st"), CN_STATUS_FORMAT,
              "long.st: offset 0: header size 9 is larger than the rest of the file (2 bytes after the 8-byte size)");
    memcpy(buf, "\0\0\0\0\0\x01\0\0", 8); /* 2^40 */
    CHECK_ERR(cn_safetensors_parse(&f, buf, n, "huge.st"), CN_STATUS_FORMAT, "header size 1099511627776 is larger than the rest");
    memcpy(buf, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    CHECK_ERR(cn_safetensors_parse(&f, buf, n, "max.st"), CN_STATUS_FORMAT, "header size 18446744073709551615");
    uint64_t cap = cn_memory_limit();
    n = make_st(buf, "{" T("a", "F32", "[2]", 0, 8) "}", 8);
    cn_set_memory_limit(32);
    CHECK_ERR(cn_safetensors_parse(&f, buf, n, "cap.st"), CN_STATUS_LIMIT, "header size 54 exceeds the memory cap of 32 bytes");
    cn_set_memory_limit(cap);
    /* a 40 KB header of 20,000 JSON values: the file fits a 1 MB cap, but cJSON would use
     * about 20,000 nodes (1.3 MB); refused before parsing */
    {
        size_t hn = 40100, hl = 0;
        char *h = malloc(hn);
        unsigned char *fb = malloc(hn + 16);
        hl += (size_t)snprintf(h, hn, "{\"a\":[0");
        for (int i = 1; i < 20000; i++) h[hl++] = ',', h[hl++] = '0';
        h[hl++] = ']', h[hl++] = '}', h[hl] = '\0';
        size_t fn = make_st(fb, h, 0);
        cn_set_memory_limit(1 << 20);
        CHECK_ERR(cn_safetensors_parse(&f, fb, fn, "values.st"), CN_STATUS_LIMIT, "values.st: parsing this JSON (40007 bytes) would take about");
        cn_set_memory_limit(cap);
        CHECK_ERR(cn_safetensors_parse(&f, fb, fn, "values.st"), CN_STATUS_FORMAT, "values.st"); /* parsed: not a tensor entry */
        free(h), free(fb);
    }
    /* a header above the reference's 100 MB limit, refused before anything is copied (the
     * 101 MB buffer is untouched anonymous memory: no pages are really used) */
    size_t big = 101000000;
    unsigned char *m = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) {
        uint64_t hl = big - 8;
        for (int b = 0; b < 8; b++) m[b] = (unsigned char)(hl >> (8 * b));
        CHECK_ERR(cn_safetensors_parse(&f, m, big, "big.st"), CN_STATUS_LIMIT,
                  "big.st: offset 0: header size 100999992 exceeds the limit of 100000000 bytes");
        munmap(m, big);
    }

    /* the header as text and JSON */
    expect_bad("", 0, CN_STATUS_FORMAT, "bad.st: offset 8: header is empty");
    expect_bad("{\"a\xff\":1}", 0, CN_STATUS_FORMAT, "bad.st: offset 11: header is not valid UTF-8 (byte 0xff)");
    expect_bad("{\"\xc0\xaf\":1}", 0, CN_STATUS_FORMAT, "offset 10: header is not valid UTF-8"); /* overlong '/' */
    expect_bad("{\"\xed\xa0\x80\":1}", 0, CN_STATUS_FORMAT, "offset 10: header is not valid UTF-8");  /* surrogate */
    expect_bad("{\"\xe2\x98\":1}", 0, CN_STATUS_FORMAT, "offset 10: header is not valid UTF-8");      /* cut sequence */
    expect_bad("[1, 2]", 0, CN_STATUS_FORMAT, "offset 8: header must be a JSON object starting with '{', found byte 0x5b");
    expect_bad(" {}", 0, CN_STATUS_FORMAT, "starting with '{', found byte 0x20");
    expect_bad("{\"a\": }", 0, CN_STATUS_FORMAT, "bad.st: offset 14: header is not valid JSON");
    expect_bad("{\"a\": {\"dtype\"", 0, CN_STATUS_FORMAT, "header is not valid JSON (it ends too early)");
    expect_bad("{} x", 0, CN_STATUS_FORMAT, "offset 11: unexpected byte 0x78 after the JSON header");
    n = make_st(buf, "{}  ", 0);
    buf[11] = 0; /* NUL padding is not JSON whitespace */
    CHECK_ERR(cn_safetensors_parse(&f, buf, n, "nul.st"), CN_STATUS_FORMAT, "nul.st: offset 11: header holds the control byte 0x00");
    n = make_st(buf, "{\"a\x01\":1}", 0);
    CHECK_ERR(cn_safetensors_parse(&f, buf, n, "ctl.st"), CN_STATUS_FORMAT, "ctl.st: offset 11: header holds the control byte 0x01");

    /* tensor entries */
    expect_bad("{\"a\":5}", 0, CN_STATUS_FORMAT, "bad.st: tensor 'a': entry is a number, expected an object");
    expect_bad("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, CN_STATUS_FORMAT, "tensor 'a': missing \"dtype\"");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, CN_STATUS_FORMAT, "tensor 'a': missing \"shape\"");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, CN_STATUS_FORMAT, "tensor 'a': missing \"data_offsets\"");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, CN_STATUS_FORMAT,
               "tensor 'a': duplicate key \"dtype\"");
    expect_bad("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, CN_STATUS_FORMAT,
               "tensor 'a': \"dtype\" is a number, expected a string such as \"F32\"");
    expect_bad("{" T("a", "F33", "[1]", 0, 4) "}", 4, CN_STATUS_UNSUPPORTED, "tensor 'a': unknown dtype 'F33' (known: BOOL");
    expect_bad("{" T("a", "f32", "[1]", 0, 4) "}", 4, CN_STATUS_UNSUPPORTED, "unknown dtype 'f32'"); /* names are case-sensitive */
    expect_bad("{" T("a", "F32", "{}", 0, 4) "}", 4, CN_STATUS_FORMAT, "tensor 'a': \"shape\" is an object, expected an array");
    expect_bad("{" T("a", "F32", "[2,-1]", 0, 4) "}", 4, CN_STATUS_FORMAT,
               "tensor 'a': shape[1] is -1, expected a non-negative integer");
    expect_bad("{" T("a", "F32", "[1.5]", 0, 4) "}", 4, CN_STATUS_FORMAT, "shape[0] is 1.5, expected");
    expect_bad("{" T("a", "F32", "[\"2\"]", 0, 4) "}", 4, CN_STATUS_FORMAT, "shape[0] is a string, expected");
    expect_bad("{" T("a", "F32", "[null]", 0, 4) "}", 4, CN_STATUS_FORMAT, "shape[0] is null, expected");
    expect_bad("{" T("a", "F32", "[1e300]", 0, 4) "}", 4, CN_STATUS_LIMIT, "shape[0] is 1.0000000000000001e+300");
    expect_bad("{" T("a", "F32", "[1,1,1,1,1,1,1,1,1]", 0, 4) "}", 4, CN_STATUS_UNSUPPORTED,
               "tensor 'a': shape has 9 dimensions; at most 8 are supported");
    expect_bad("{" T("a", "F32", "[1099511627776,1099511627776]", 0, 4) "}", 4, CN_STATUS_LIMIT,
               "tensor 'a': shape 1099511627776x1099511627776 of F32 overflows 64-bit sizes");
    expect_bad("{" T("a", "F64", "[4294967296,4294967296]", 0, 4) "}", 4, CN_STATUS_LIMIT, "overflows"); /* numel fits, bytes don't */
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, CN_STATUS_FORMAT,
               "tensor 'a': \"data_offsets\" is an array of the wrong length, expected [begin, end]");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":\"0-4\"}}", 4, CN_STATUS_FORMAT,
               "\"data_offsets\" is a string, expected [begin, end]");
    expect_bad("{" T("a", "F32", "[1]", -4, 0) "}", 4, CN_STATUS_FORMAT, "tensor 'a': data_offsets[0] is -4, expected a non-negative");
    expect_bad("{" T("a", "F32", "[1]", 8, 4) "}", 8, CN_STATUS_FORMAT, "tensor 'a': data_offsets [8, 4] end before they begin");
    expect_bad("{" T("a", "F32", "[2]", 0, 4) "}", 4, CN_STATUS_FORMAT,
               "tensor 'a': data_offsets [0, 4] span 4 bytes, but shape 2 of F32 needs 8");
    expect_bad("{" T("a", "F32", "[]", 0, 8) "}", 8, CN_STATUS_FORMAT, "span 8 bytes, but shape [] (scalar) of F32 needs 4");
    expect_bad("{" T("a", "F32", "[2]", 0, 8) "}", 4, CN_STATUS_FORMAT,
               "tensor 'a': data_offsets [0, 8] reach past the end of the data section (4 bytes)");
    expect_bad("{" T("a", "F32", "[1]", 9007199254740988, 9007199254740992) "}", 4, CN_STATUS_FORMAT, "reach past the end");
    expect_bad("{" T("a", "F32", "[1]", 18446744073709551612, 18446744073709551616) "}", 4, CN_STATUS_LIMIT,
               "data_offsets[0] is 1.8446744073709552e+19");

    /* coverage of the data section */
    expect_bad("{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[2]", 4, 12) "}", 12, CN_STATUS_FORMAT,
               "tensor 'b': data_offsets [4, 12] overlap those of tensor 'a' [0, 8]");
    expect_bad("{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[2]", 0, 8) "}", 8, CN_STATUS_FORMAT,
               "data_offsets [0, 8] overlap those of tensor 'a' [0, 8]"); /* aliasing */
    expect_bad("{" T("a", "F32", "[1]", 0, 4) "," T("b", "F32", "[1]", 8, 12) "}", 12, CN_STATUS_FORMAT,
               "tensor 'b': data_offsets [8, 12] leave a gap of 4 bytes after tensor 'a'");
    expect_bad("{" T("a", "F32", "[1]", 4, 8) "}", 8, CN_STATUS_FORMAT,
               "leave a gap of 4 bytes after the start of the data section");
    expect_bad("{" T("a", "F32", "[1]", 0, 4) "}", 6, CN_STATUS_FORMAT,
               "bad.st: offset 66: 2 trailing bytes after the last tensor's data");
    expect_bad("{}", 1, CN_STATUS_FORMAT, "offset 10: 1 trailing bytes");
    expect_bad("{" T("a", "F32", "[1]", 0, 4) "," T("a", "F32", "[1]", 4, 8) "}", 8, CN_STATUS_FORMAT,
               "tensor 'a': duplicate tensor name");

    /* metadata */
    expect_bad("{\"__metadata__\":[\"a\"]}", 0, CN_STATUS_FORMAT, "\"__metadata__\" is an array, expected an object of strings");
    expect_bad("{\"__metadata__\":{\"epoch\":3}}", 0, CN_STATUS_FORMAT,
               "offset 8: \"__metadata__\" value of 'epoch' is a number, expected a string");
    expect_bad("{\"__metadata__\":{\"x\":{\"y\":\"z\"}}}", 0, CN_STATUS_FORMAT, "value of 'x' is an object");
    expect_bad("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, CN_STATUS_FORMAT, "duplicate \"__metadata__\" key 'k'");
    expect_bad("{\"__metadata__\":{},\"__metadata__\":{}}", 0, CN_STATUS_FORMAT, "duplicate \"__metadata__\"");

    /* allowed: zero-sized tensors anywhere, scalars, unknown keys inside an entry (as the reference) */
    n = make_st(buf, "{" T("z", "F32", "[0,5]", 4, 4) "," T("s", "I32", "[]", 0, 4) "," T("e", "U8", "[0]", 0, 0) ","
                     "\"x\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6],\"comment\":[1,2]}}", 6);
    CHECK_OK(cn_safetensors_parse(&f, buf, n, "ok.st"));
    cn_st_tensor t;
    CHECK(f && cn_safetensors_count(f) == 4);
    if (f) {
        CHECK_OK(cn_safetensors_get(f, 0, &t));
        CHECK(!strcmp(t.name, "e"));
        CHECK_OK(cn_safetensors_get(f, 2, &t));
        CHECK(!strcmp(t.name, "z"));
    }
    cn_safetensors_destroy(f);

    /* files that cannot be read */
    CHECK_ERR(cn_safetensors_load(&f, "/no/such/dir/w.safetensors"), CN_STATUS_IO, "/no/such/dir/w.safetensors: cannot open");
    CHECK(f == NULL);
    CHECK_ERR(cn_safetensors_load(&f, "/tmp"), CN_STATUS_IO, "directory");
    CHECK_ERR(cn_safetensors_parse(&f, NULL, 5, NULL), CN_STATUS_INVALID_ARG, "safetensors: buffer is NULL");
}

/* A valid file cut at every length, extended by a byte, and with every byte replaced by a
 * few troublesome values: never a crash (ASan and UBSan watch), always a clean status. */
static void test_truncation_and_flips(void)
{
    const char *p = tmp_path("small.safetensors");
    float w[3] = {1, 2, 3};
    int64_t l[2] = {7, -7};
    cn_st_tensor in[2] = {tensor("w", CN_ST_DTYPE_F32, 1, (int64_t[]){3}, w), tensor("l", CN_ST_DTYPE_I64, 2, (int64_t[]){1, 2}, l)};
    CHECK_OK(cn_safetensors_save(p, in, 2, (const char *[]){"k"}, (const char *[]){"v"}, 1));
    size_t len;
    unsigned char *raw = read_file(p, &len);
    remove(p);
    if (!raw) return;
    cn_safetensors *f;
    CHECK_OK(cn_safetensors_parse(&f, raw, len, "small.st"));
    cn_safetensors_destroy(f);
    int bad = 0;
    for (size_t k = 0; k < len; k++) {
        cn_status st = cn_safetensors_parse(&f, raw, k, "trunc.st");
        if (st != CN_STATUS_FORMAT || f != NULL) {
            if (bad++ < 5) CHECK_MSG(0, "truncated at %zu of %zu: %s: %s", k, len, cn_status_name(st), cn_last_error());
            cn_safetensors_destroy(f);
        }
    }
    CHECK_EQ_INT(bad, 0);
    unsigned char *ext = malloc(len + 1);
    memcpy(ext, raw, len);
    ext[len] = 0;
    CHECK_ERR(cn_safetensors_parse(&f, ext, len + 1, "ext.st"), CN_STATUS_FORMAT, "1 trailing bytes");
    /* byte flips: the result may be valid (a changed data byte) or an error, never anything else */
    static const unsigned char vals[] = {0x00, 0xff, '"', '{', '9', ' ', 0x80};
    int ok = 0, failed = 0;
    for (size_t k = 0; k < len; k++)
        for (size_t v = 0; v < sizeof vals; v++) {
            memcpy(ext, raw, len);
            ext[k] = vals[v];
            cn_status st = cn_safetensors_parse(&f, ext, len, "flip.st");
            if (st == CN_OK) {
                ok++;
                /* a file that parses is internally consistent: every tensor lies inside it */
                for (int i = 0; i < cn_safetensors_count(f); i++) {
                    cn_st_tensor t;
                    cn_safetensors_get(f, i, &t);
                    float tmp[8];
                    if (t.numel <= 8) cn_safetensors_to_f32(&t, tmp);
                }
                cn_safetensors_destroy(f);
            } else {
                failed++;
                CHECK_MSG(f == NULL && strlen(cn_last_error()) > 0, "flip at %zu: no message or a leaked object", k);
            }
        }
    CHECK(ok > 0 && failed > 0);
    printf("     %zu-byte file: %zu truncations failed cleanly; %d flips parsed, %d failed cleanly\n", len, len, ok, failed);
    free(ext);
    free(raw);
}

/* ---- failed allocations: fail the k-th one, expect a clean NOMEM and (under ASan) no leak */
static int alloc_countdown = -1;
static void *failing_alloc(size_t size, size_t align, void *user)
{
    (void)user;
    if (alloc_countdown == 0) return NULL;
    if (alloc_countdown > 0) alloc_countdown--;
    return aligned_alloc(align, (size + align - 1) / align * align);
}
static void plain_free(void *p, void *user) { (void)user; free(p); }

static void test_failed_allocations(void)
{
    unsigned char buf[512];
    size_t n = make_st(buf, "{\"__metadata__\":{\"k\":\"v\"}," T("a", "F32", "[2]", 0, 8) "," T("b", "U8", "[1]", 8, 9) "}", 9);
    cn_allocator a = {failing_alloc, plain_free, NULL};
    cn_set_allocator(&a);
    const char *p = tmp_path("alloc.safetensors");
    float w[2] = {1, 2};
    cn_st_tensor in[1] = {tensor("w", CN_ST_DTYPE_F32, 1, (int64_t[]){2}, w)};
    int k, parsed = 0, saved = 0;
    for (k = 0; k < 50 && !parsed; k++) {
        cn_safetensors *f;
        alloc_countdown = k;
        cn_status st = cn_safetensors_parse(&f, buf, n, "alloc.st");
        if (st == CN_OK) parsed = 1, cn_safetensors_destroy(f);
        else CHECK_MSG(st == CN_STATUS_NOMEM && f == NULL, "allocation %d failed: %s (%s)", k, cn_status_name(st), cn_last_error());
    }
    CHECK(parsed && k > 3); /* several allocations were each made to fail */
    for (k = 0; k < 50 && !saved; k++) {
        alloc_countdown = k;
        cn_status st = cn_safetensors_save(p, in, 1, NULL, NULL, 0);
        if (st == CN_OK) saved = 1;
        else CHECK_MSG(st == CN_STATUS_NOMEM && access(p, F_OK) != 0, "save, allocation %d failed: %s", k, cn_status_name(st));
    }
    CHECK(saved && k > 1);
    alloc_countdown = -1;
    cn_set_allocator(NULL);
    remove(p);
}

/* ---- the writer refuses bad input, and leaves nothing behind ------------------------------ */
static void test_save_errors(void)
{
    const char *p = tmp_path("err.safetensors");
    float w[4] = {0};
    cn_st_tensor a = tensor("a", CN_ST_DTYPE_F32, 1, (int64_t[]){4}, w);
    cn_st_tensor two[2] = {a, a};
    CHECK_ERR(cn_safetensors_save(p, two, 2, NULL, NULL, 0), CN_STATUS_INVALID_ARG, "tensor 'a': duplicate tensor name");
    cn_st_tensor b = a;
    b.name = "__metadata__";
    CHECK_ERR(cn_safetensors_save(p, &b, 1, NULL, NULL, 0), CN_STATUS_INVALID_ARG, "name '__metadata__' is not allowed");
    b = a, b.shape[0] = -4;
    CHECK_ERR(cn_safetensors_save(p, &b, 1, NULL, NULL, 0), CN_STATUS_SHAPE, "tensor 'a': dimension 0 is negative (-4)");
    b = a, b.nbytes = 12;
    CHECK_ERR(cn_safetensors_save(p, &b, 1, NULL, NULL, 0), CN_STATUS_INVALID_ARG, "nbytes is 12, but its shape and dtype F32 need 16");
    b = a, b.data = NULL;
    CHECK_ERR(cn_safetensors_save(p, &b, 1, NULL, NULL, 0), CN_STATUS_INVALID_ARG, "tensor 'a': data is NULL");
    b = a, b.ndim = 9;
    CHECK_ERR(cn_safetensors_save(p, &b, 1, NULL, NULL, 0), CN_STATUS_INVALID_ARG, "ndim 9 out of range");
    b = a, b.dtype = CN_ST_DTYPE_COUNT_;
    CHECK_ERR(cn_safetensors_save(p, &b, 1, NULL, NULL, 0), CN_STATUS_INVALID_ARG, "dtype 15");
    b = a, b.ndim = 3, b.shape[0] = b.shape[1] = b.shape[2] = 1LL << 30;
    CHECK_ERR(cn_safetensors_save(p, &b, 1, NULL, NULL, 0), CN_STATUS_LIMIT, "tensor 'a': shape 1073741824x1073741824x1073741824 of F32 is too large to store");
    CHECK_ERR(cn_safetensors_save(p, &a, 1, (const char *[]){"k", "k"}, (const char *[]){"1", "2"}, 2), CN_STATUS_INVALID_ARG,
              "duplicate metadata key 'k'");
    CHECK_ERR(cn_safetensors_save(p, &a, 1, (const char *[]){"k"}, (const char *[]){NULL}, 1), CN_STATUS_INVALID_ARG,
              "metadata pair 0 has a NULL key or value");
    CHECK_ERR(cn_safetensors_save(p, NULL, 1, NULL, NULL, 0), CN_STATUS_INVALID_ARG, "bad tensor or metadata list");
    b = a, b.name = "w\xff";
    CHECK_ERR(cn_safetensors_save(p, &b, 1, NULL, NULL, 0), CN_STATUS_INVALID_ARG, "tensor 0: name is not valid UTF-8");
    CHECK_ERR(cn_safetensors_save(p, &a, 1, (const char *[]){"k"}, (const char *[]){"\xc3"}, 1), CN_STATUS_INVALID_ARG,
              "metadata pair 0 ('k') is not valid UTF-8");
    /* control characters in names are fine: JSON escapes them, and they read back */
    b = a, b.name = "tab\there\x01";
    CHECK_OK(cn_safetensors_save(p, &b, 1, NULL, NULL, 0));
    cn_safetensors *g;
    cn_st_tensor gt;
    CHECK_OK(cn_safetensors_load(&g, p));
    CHECK(g && cn_safetensors_find(g, "tab\there\x01", &gt) == CN_OK);
    cn_safetensors_destroy(g);
    remove(p);
    CHECK(access(p, F_OK) != 0);
    CHECK_ERR(cn_safetensors_save("/nonexistent-dir/w.safetensors", &a, 1, NULL, NULL, 0), CN_STATUS_IO,
              "/nonexistent-dir/w.safetensors");
    /* an existing file is replaced whole, or not at all */
    CHECK_OK(cn_safetensors_save(p, &a, 1, NULL, NULL, 0));
    CHECK_ERR(cn_safetensors_save(p, two, 2, NULL, NULL, 0), CN_STATUS_INVALID_ARG, "duplicate");
    cn_safetensors *f;
    CHECK_OK(cn_safetensors_load(&f, p));
    CHECK(f && cn_safetensors_count(f) == 1);
    cn_safetensors_destroy(f);
    remove(p);
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_reference_bytes);
    RUN(test_python_fixture);
    RUN(test_conversions);
    RUN(test_malformed);
    RUN(test_truncation_and_flips);
    RUN(test_failed_allocations);
    RUN(test_save_errors);
    return cn_test_finish();
}
