/* convnet/data.h — datasets as plain arrays: the MNIST-1D generator and the IDX
 * (MNIST / Fashion-MNIST) reader. These are plain functions that fill caller-visible arrays;
 * the dataset/loader interface is built on top of them.
 *
 * MNIST-1D (Greydanus & Kobak, "Scaling down deep learning with MNIST-1D", ICML 2024) is
 * generated in C, bit for bit as the upstream NumPy code does it (an emulation of NumPy's
 * legacy MT19937 RandomState drives every draw). With the default parameters and seed 42
 * the result is the frozen standard dataset (mnist1d_data.pkl): same labels, same order, and
 * inputs equal to float32 precision.
 *
 *     cn_mnist1d d;
 *     if (cn_mnist1d_generate(NULL, &d) != CN_OK) fprintf(stderr, "%s\n", cn_last_error());
 *     ... d.x_train[i * d.length + j], d.y_train[i] ...
 *     cn_mnist1d_free(&d);
 *
 * IDX is the format of MNIST and Fashion-MNIST: two zero bytes, a type code, a dimension
 * count, the dimensions as big-endian 32-bit integers, then the values, big-endian, in C
 * order. Files may be gzip-compressed (recognised by the 1f 8b magic, not by the name).
 *
 *     cn_idx img, lab;
 *     if (cn_idx_load_pair(&img, &lab, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz") != CN_OK)
 *         fprintf(stderr, "%s\n", cn_last_error());
 *     ... img.dims = {60000, 28, 28}, img.f32 = pixels 0..255; lab.i64 = labels ...
 *     cn_idx_free(&img); cn_idx_free(&lab);
 *
 * Images (PNG, JPEG, BMP, PGM/PPM, ...) and NumPy .npz archives are read here too; see their
 * sections below.
 *
 * Ownership: cn_mnist1d and cn_idx are caller-owned structs whose arrays the library
 * allocates (with cn_malloc) and frees in cn_mnist1d_free / cn_idx_free. Both free functions
 * accept a zeroed or already-freed struct. On failure every output is left zeroed.
 */
#ifndef CONVNET_DATA_H
#define CONVNET_DATA_H

#include "core.h"
#include "npy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- MNIST-1D ---------------------------------------------------------------------------- */

/* Generator parameters. cn_mnist1d_params_default fills the upstream defaults, shown here. */
typedef struct cn_mnist1d_params {
    int64_t num_samples;     /* 5000: num_samples/10 examples per class are generated        */
    double train_split;      /* 0.8: the first floor(n * train_split) shuffled rows are train   */
    int template_len;        /* 12: the working length is template_len + padding_max (72). The
                              * digit templates themselves always have 12 points (as upstream). */
    int padding_min;         /* 36: zeros appended after the template: uniform in              */
    int padding_max;         /* 60:   padding_min..padding_max inclusive                        */
    double scale_coeff;      /* 0.4: amplitude factor 1 + scale_coeff*(u - 0.5)                 */
    int max_translation;     /* 48: circular right shift drawn from 0..max_translation-1       */
    double corr_noise_scale; /* 0.25: Gaussian-smoothed (sigma 2) noise filling empty samples   */
    double iid_noise_scale;  /* 0.02: white noise added everywhere                              */
    double shear_scale;      /* 0.75: baseline tilt coefficient shear_scale*(u - 0.5)           */
    int shuffle_seq;         /* 0: if 1, the "spatially shuffled" ablation: one permutation of
                              * the final_seq_length positions, applied to every example. It is
                              * np.random.permutation(final_seq_length) drawn from the same
                              * MT19937 stream (seed `seed`) right after the example shuffle, as
                              * upstream does; returned in cn_mnist1d.seq_perm.                 */
    int final_seq_length;    /* 40: output length                                               */
    uint32_t seed;           /* 42: np.random.seed(seed)                                        */
} cn_mnist1d_params;

void cn_mnist1d_params_default(cn_mnist1d_params *p);

/* A generated or loaded MNIST-1D dataset. Inputs are standardised over the whole set (train
 * and test together) to mean 0 and std 1, as upstream. */
typedef struct cn_mnist1d {
    int64_t n_train, n_test; /* 4000, 1000 by default */
    int64_t length;          /* final_seq_length: 40 by default */
    float *x_train;          /* [n_train, length] */
    int64_t *y_train;        /* [n_train], labels 0..9 */
    float *x_test;           /* [n_test, length] */
    int64_t *y_test;         /* [n_test] */
    float *t;                /* [length], the position axis (for plots), divided by `std` */
    int64_t *seq_perm;       /* [length] when generated with shuffle_seq: new column j is old
                              * column seq_perm[j]; NULL otherwise (and after loading) */
    double mean, std;        /* the standardisation applied, before it (generate only; 0 after
                              * loading): x = (raw - mean) / std */
} cn_mnist1d;

/* Generate the dataset; p = NULL means the defaults. Fails with CN_STATUS_INVALID_ARG naming
 * the parameter and its value, or CN_STATUS_LIMIT if the sizes exceed the memory cap. */
cn_status cn_mnist1d_generate(const cn_mnist1d_params *p, cn_mnist1d *out);
void cn_mnist1d_free(cn_mnist1d *d);

/* The 10 normalised digit templates, x[10*12] (row = digit), and their axis t[12], in
 * float64, exactly as the generator uses them (either pointer may be NULL). */
void cn_mnist1d_templates(double *x, double *t);

/* Write dir/x_train.npy (float32 [n_train, length]), dir/y_train.npy (int64 [n_train]),
 * dir/x_test.npy, dir/y_test.npy and dir/t.npy (float32 [length]). `dir` must exist. Each
 * file is written atomically (the set as a whole is not). */
cn_status cn_mnist1d_save_npy(const cn_mnist1d *d, const char *dir);
/* Read the same layout back. x and t may be float32 or float64; labels any integer dtype
 * with values 0..9. Errors name the file and what was wrong (missing file, dtype, rank,
 * shape, a label/input count mismatch, a label out of range). */
cn_status cn_mnist1d_load_npy(cn_mnist1d *out, const char *dir);

/* ---- IDX (MNIST, Fashion-MNIST) ---------------------------------------------------------- */

typedef enum cn_idx_type {
    CN_IDX_U8 = 0x08,  /* unsigned byte */
    CN_IDX_I8 = 0x09,  /* signed byte */
    CN_IDX_I16 = 0x0B, /* short, 2 bytes */
    CN_IDX_I32 = 0x0C, /* int, 4 bytes */
    CN_IDX_F32 = 0x0D, /* float, 4 bytes */
    CN_IDX_F64 = 0x0E  /* double, 8 bytes */
} cn_idx_type;

#define CN_IDX_MAX_DIMS 16

typedef struct cn_idx {
    cn_idx_type type; /* the type code stored in the file */
    int ndim;         /* 1..CN_IDX_MAX_DIMS */
    int64_t dims[CN_IDX_MAX_DIMS];
    int64_t numel;
    float *f32;       /* every value converted to float32, unscaled (pixels stay 0..255); owned */
    int64_t *i64;     /* exact values for 1-D integer files (label files); NULL otherwise; owned */
} cn_idx;

/* Load a plain or gzip-compressed IDX file. Before allocating, every size in the header is
 * checked for overflow, against the memory cap (cn_memory_limit()) and against the file's
 * real length (plain files) or the most its compressed size could expand to (gzip). A gzip
 * stream is inflated with a hard cap at the size the header describes: the ISIZE trailer is
 * never trusted, and more data than described is an error. Errors name the file, the byte
 * offset (in the decompressed data for gzip files) and what was expected. */
cn_status cn_idx_load(cn_idx *out, const char *path);
void cn_idx_free(cn_idx *a);

/* Load an images file (2 or more dims, N first) and a labels file (1 dim, integer type) and
 * check that they hold the same number of items, e.g. "train-images.gz: 60000 images,
 * train-labels.gz: 59999 labels". On failure both outputs are left zeroed. */
cn_status cn_idx_load_pair(cn_idx *images, cn_idx *labels, const char *images_path, const char *labels_path);


/* ---- images (decoding, resizing, PNG writing) --------------------------------------------
 * Decoding uses stb_image (Debian's libstb-dev): PNG (8 and 16 bit, reduced to 8), JPEG
 * (baseline and progressive), BMP, GIF (first frame), binary PGM/PPM (P5/P6), TGA, PSD and
 * HDR. The format is recognised by its leading bytes, not by the file name. Before decoding,
 * the header's width x height x channels is checked against CN_IMAGE_MAX_SIDE and the memory
 * cap, so a header that claims an absurd size fails without allocating.
 *
 *     cn_image im;
 *     if (cn_image_load(&im, "cat.jpg", 3) != CN_OK) fprintf(stderr, "%s\n", cn_last_error());
 *     ... im.px[(y * im.w + x) * im.c + ch] ...
 *     cn_image_free(&im);
 *
 * cn_image is a caller-owned struct; px is allocated with cn_malloc and freed by
 * cn_image_free (which accepts a zeroed or freed struct). */
#define CN_IMAGE_MAX_SIDE 65536

typedef struct cn_image {
    int w, h, c;       /* width, height, channels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) */
    unsigned char *px; /* h * w * c bytes, rows top to bottom, channels interleaved; owned */
} cn_image;

/* Decode an image held in memory. channels = 0 keeps the file's channel count; 1..4 converts
 * (to gray with the ITU-R 601 luma weights, gray to RGB by copying, alpha dropped or set
 * opaque). `name` labels errors: "NAME: not an image (bytes 0-3 are 4e 4f 50 45; expected
 * PNG, JPEG, ...)", "NAME: PNG data is corrupt or truncated (stb_image: bad zlib header)". */
cn_status cn_image_decode(cn_image *out, const void *buf, size_t len, int channels, const char *name);
/* Read and decode a file. */
cn_status cn_image_load(cn_image *out, const char *path, int channels);
/* Width, height and channel count from the header only (no pixel decoding). */
cn_status cn_image_probe(const char *path, int *w, int *h, int *c);
void cn_image_free(cn_image *im);
/* Resize to w x h (stb_image_resize: Mitchell filter when shrinking, Catmull-Rom when
 * enlarging, antialiased, edges clamped). out must not alias in. */
cn_status cn_image_resize(cn_image *out, const cn_image *in, int w, int h);
/* Change the channel count of an image already decoded (rules as in cn_image_decode). */
cn_status cn_image_convert(cn_image *out, const cn_image *in, int channels);
/* Planar float in [0, 1]: chw[c][y][x] = px[(y * w + x) * c] / 255. */
void cn_image_to_chw(float *chw, const cn_image *im);
/* Write 8-bit pixels (rows top to bottom, c = 1..4 interleaved channels) as a PNG file,
 * atomically (temporary file, fsync, rename). */
cn_status cn_image_save_png(const char *path, const unsigned char *px, int w, int h, int c);

/* ---- NumPy .npz archives ------------------------------------------------------------------
 * An .npz file is a zip archive of .npy files (numpy.savez, stored; numpy.savez_compressed,
 * deflated). Archives are read with libzip; every entry's CRC is verified, its declared size
 * is checked against the memory cap and against what its compressed size could expand to
 * before anything is allocated, and the .npy inside is parsed by cn_npy_parse. Errors name
 * the archive and the entry: "data.npz: entry 'x_train.npy': CRC error (the archive is
 * corrupt)". An archive handle is not safe to read from several threads at once.
 *
 *     cn_npz *z;
 *     cn_npy x;
 *     if (cn_npz_open(&z, "data.npz") != CN_OK || cn_npz_read(z, "x_train", &x) != CN_OK) ...
 *     cn_npy_free(&x);
 *     cn_npz_close(z);
 */
typedef struct cn_npz cn_npz;
cn_status cn_npz_open(cn_npz **out, const char *path);
/* Number of entries, and entry i's array name (the file name without ".npy"; borrowed, valid
 * until cn_npz_close). */
int64_t cn_npz_count(const cn_npz *z);
const char *cn_npz_name(const cn_npz *z, int64_t i);
/* 1 if the archive holds array `name` ("x_train" or "x_train.npy"), else 0. */
int cn_npz_has(const cn_npz *z, const char *name);
/* Read array `name`; CN_STATUS_NOT_FOUND lists the arrays the archive has. */
cn_status cn_npz_read(cn_npz *z, const char *name, cn_npy *out);
void cn_npz_close(cn_npz *z);

#ifdef __cplusplus
}
#endif
#endif
