/* convnet/viz.h — seeing inside a network: image files, hand-made filters applied with the
 * library's own conv layer, image grids and colour maps, convolution arithmetic explained,
 * saliency maps, training curves (SVG or PNG) and a self-contained HTML run report.
 *
 *     cn_image im = {0};                             // data.h's caller-owned image
 *     if (cn_image_load(&im, "cat.png", 3) != CN_OK) puts(cn_last_error());
 *     cn_filter_kernel k;
 *     cn_filter_kernel_find(&k, "sobel_x");
 *     cn_filter_config fc = cn_filter_defaults();
 *     cn_tensor *y;                                  // (C, H, W), owned by the caller
 *     float *x = ...;                                // (C, H, W): cn_image_to_chw(x, &im)
 *     cn_filter_apply(&y, x, im.c, im.h, im.w, &k, &fc);
 *
 * Images are data.h's cn_image (read there with stb_image); this header adds writing by
 * extension and in memory (stb_image_write), conversion from float planes, zooming, pasting
 * and a bitmap font.
 *
 * Ownership: a cn_image owns its pixels (cn_image_free). Buffers and tensors returned
 * through out-pointers belong to the caller (cn_free / cn_tensor_destroy / cn_image_free).
 */
#ifndef CONVNET_VIZ_H
#define CONVNET_VIZ_H

#include "conv.h"
#include "data.h"
#include "model.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- images: more on data.h's cn_image ----------------------------------------------------
 * cn_image (8-bit, interleaved channels, rows top to bottom), decoding, resizing, channel
 * conversion and cn_image_to_chw are in data.h. Functions that fill an image `out` here free
 * what it held before (pass a zeroed or freed struct, or one to replace). */

/* (Re)allocate w x h x c pixels (c 1..4), every byte set to `fill`. */
cn_status cn_image_alloc(cn_image *im, int w, int h, int c, unsigned char fill);
/* Write by the file's extension: .png, .bmp, .tga, .jpg/.jpeg (quality 95). Atomic. */
cn_status cn_image_save(const cn_image *im, const char *path);
/* PNG bytes in a new buffer (cn_free it): for data URIs. */
cn_status cn_image_encode_png(const cn_image *im, unsigned char **buf, size_t *len);
/* Pixels from x (c, h, w), c in 1..4: v -> round(255 * (v - lo) / (hi - lo)) clamped to
 * 0..255 (NaN -> 0; hi <= lo: mid-gray). */
cn_status cn_image_from_chw(cn_image *im, const float *x, int c, int h, int w, float lo, float hi);
/* Nearest-neighbour enlargement by an integer factor 1..256 (for small maps). */
cn_status cn_image_zoom(cn_image *out, const cn_image *in, int factor);
/* Paste src into dst with its top-left at (x, y), clipped; channels converted as
 * cn_image_convert does (alpha is copied or dropped, not blended). */
void cn_image_paste(cn_image *dst, const cn_image *src, int x, int y);
/* Draw text into an RGB or gray image with convnet's 5x7 bitmap font (upper-case letters,
 * digits, common punctuation; lower case is drawn upper case), each font pixel `scale`
 * pixels wide, its top-left corner at (x, y), clipped to the image. */
void cn_image_text(cn_image *im, int x, int y, const char *text, int scale, const unsigned char rgb[3]);
/* The width in pixels cn_image_text needs for `text`. */
int cn_image_text_width(const char *text, int scale);

/* ---- hand-made filters ------------------------------------------------------------------ */
#define CN_FILTER_MAX_SIDE 31

typedef struct cn_filter_kernel {
    char name[48];
    int kh, kw;                                       /* 1..CN_FILTER_MAX_SIDE */
    float w[CN_FILTER_MAX_SIDE * CN_FILTER_MAX_SIDE]; /* row-major kh x kw */
    const char *help;                                 /* static text; NULL for parsed kernels */
} cn_filter_kernel;

/* The named kernels: identity, edge1 [[1,0,-1],[0,0,0],[-1,0,1]], laplacian (edge2)
 * [[0,1,0],[1,-4,1],[0,1,0]], edge3 [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]], sharpen, box_blur (1/9),
 * gaussian_blur (1/16 [[1,2,1],[2,4,2],[1,2,1]]), sobel_x, sobel_y, angle (a diagonal-line
 * detector) and angle2 (the other diagonal). Static data. */
int cn_filter_kernel_count(void);
const cn_filter_kernel *cn_filter_kernel_at(int i); /* NULL when out of range */
/* By name or alias (edge2, box, gaussian, ...). CN_STATUS_NOT_FOUND names the unknown name,
 * the closest known one and lists them all. */
cn_status cn_filter_kernel_find(cn_filter_kernel *k, const char *name);
/* A kernel from text: one row per line, entries separated by spaces or commas, each a number
 * or a fraction a/b; an optional first line "scale S" (S a number or fraction) multiplies
 * every entry; '#' starts a comment; rows must have equal lengths. `filename` labels errors
 * ("k.txt:3: row has 2 entries, the first row has 3"). */
cn_status cn_filter_kernel_parse(cn_filter_kernel *k, const char *text, const char *filename);
cn_status cn_filter_kernel_load(cn_filter_kernel *k, const char *path);

typedef struct cn_filter_config {
    int same;     /* 1: "same" padding (output as large as the input; zero padding), 0: valid */
    int flip;     /* 1: true convolution (kernel flipped); 0: cross-correlation (default) */
    int max_pool; /* > 1: then max pooling with window and stride max_pool */
} cn_filter_config;
cn_filter_config cn_filter_defaults(void); /* same, no flip, no pooling */

/* y (C, OH, OW) = [max_pool] (conv of each channel of x (C, H, W) with k), computed by
 * building a model of the library's conv layer (groups = C, bias off) and max_pool layer and
 * running it: the numbers are exactly the conv layer's. *y is new (cn_tensor_destroy). */
cn_status cn_filter_apply(cn_tensor **y, const float *x, int c, int h, int w, const cn_filter_kernel *k,
                          const cn_filter_config *cfg);

/* ---- colour maps and image grids -------------------------------------------------------- */
typedef enum cn_colormap {
    CN_CMAP_GRAY = 0,  /* black -> white */
    CN_CMAP_VIRIDIS,   /* perceptually uniform dark blue -> yellow */
    CN_CMAP_DIVERGING, /* blue (0) -> white (0.5) -> red (1): for signed values */
    CN_CMAP_HEAT,      /* black -> red -> yellow -> white: for saliency */
    CN_CMAP_COUNT_
} cn_colormap;
/* rgb of t in [0, 1] (clamped; NaN gives mid-gray). */
void cn_colormap_rgb(cn_colormap cm, double t, unsigned char rgb[3]);
const char *cn_colormap_name(cn_colormap cm);
cn_status cn_colormap_parse(cn_colormap *cm, const char *name);

typedef enum cn_grid_scale {
    CN_GRID_SCALE_TILE = 0,  /* each tile from its own min to max */
    CN_GRID_SCALE_ALL,       /* one min..max over all tiles (tiles comparable) */
    CN_GRID_SCALE_SYMMETRIC, /* each tile -m..m with m = its max |v| (0 stays mid-scale) */
    CN_GRID_SCALE_SYMMETRIC_ALL,
} cn_grid_scale;

typedef struct cn_grid_config {
    int cols; /* 0: about sqrt(n), rounded up */
    int zoom; /* pixels per value; 0: enough for tiles of at least 48 px (max 16) */
    int gap;  /* pixels between tiles (default 2) */
    cn_grid_scale scale;
    cn_colormap cmap;    /* for single-channel tiles */
    unsigned char bg[3]; /* gap colour */
} cn_grid_config;
cn_grid_config cn_grid_defaults(void);

#define CN_GRID_MAX_PIXELS (1LL << 28) /* larger grids are refused (CN_STATUS_LIMIT) */
/* tiles (n, tc, th, tw): tc = 1 (coloured by cfg->cmap) or 3 (shown as RGB, scaled jointly
 * over the 3 channels as cfg->scale says). out becomes an RGB image. A constant tile shows as
 * the low end of the map (a dead feature map is black on gray), in symmetric modes as 0. */
cn_status cn_grid(cn_image *out, const float *tiles, int n, int tc, int th, int tw, const cn_grid_config *cfg);

/* ---- convolution arithmetic explained ----------------------------------------------------- */
/* For a resolved ordinary 1D conv geometry g (not transposed): the equivalent fully
 * connected matrix. tap[o * cols + col] = the kernel tap j (0-based, before any flip) that
 * multiplies padded input position col - pad_begin for output o, or -1. cols = pad_begin +
 * in + pad_end (padded positions included, so every tap appears). */
cn_status cn_conv1d_taps(int *tap, int64_t cap, const cn_conv_geom *g);

/* ---- models for visualization --------------------------------------------------------------- */
enum {
    CN_VIZ_LOAD_INFER = 0,
    CN_VIZ_LOAD_GRAD = 1,        /* for input gradients: the trailing loss layer is dropped, batch norm
                                    uses its running statistics (frozen), dropout p = 0, planned with
                                    CN_PLAN_TRAIN, so a "training" forward computes inference values */
    CN_VIZ_LOAD_ALLOW_EXTRA = 2, /* the weights file may hold other tensors (a checkpoint's optimizer state) */
};
/* `model`: a model text file, or a weights file that carries its model text. `weights`: the
 * weights file (NULL: `model` itself, which must then be a weights file). Plans for `batch`
 * and loads the weights strictly. Errors name the files. */
cn_status cn_viz_load_model(cn_model **out, const char *model, const char *weights, int64_t batch, int flags);
/* The index of a layer by name, or CN_STATUS_NOT_FOUND with "no layer named 'c9' — did you
 * mean 'c2'? (layers: ...)". */
cn_status cn_viz_find_layer(const cn_model *m, const char *name, int *index);
/* The first input layer's sample shape (without the batch). */
cn_status cn_viz_input_shape(const cn_model *m, cn_shape *sample);
/* Fit an image to a sample shape C x H x W (C 1 or 3): channels converted, bilinear resize;
 * x (C, H, W) in [0, 1]. */
cn_status cn_viz_image_to_input(float *x, const cn_shape *sample, const cn_image *im);

/* The learned kernels of a conv layer (weight (OC, IC/groups, *k), 1D or 2D) as a grid: with
 * 3 input channels per group, one colour tile per filter (each scaled to its own range);
 * otherwise one row per filter and one tile per input channel (at most max_inputs of them,
 * 0 = 8); the first max_filters filters (0 = all, at most 4096), signed values on the diverging map, each tile from -m
 * to m with m its largest |w| (white = 0). CN_STATUS_NOT_FOUND for an unknown layer, CN_STATUS_INVALID_ARG for a layer
 * without such a weight. */
cn_status cn_viz_filters(cn_image *out, const cn_model *m, const char *layer, int max_filters, int max_inputs);
/* A layer's output for one sample x (the model planned for batch 1): 2D maps (C, H, W) as a
 * grid of C tiles; 1D (C, W) as one C x W tile; a vector (C) as a 1 x C strip; 3D (C, D, H, W)
 * by the middle depth slice. Each tile scaled to its own range on colour map cm. */
cn_status cn_viz_activations(cn_image *out, cn_model *m, const float *x, const char *layer, cn_colormap cm);

/* ---- saliency ---------------------------------------------------------------------------------- */
/* Class scores (the prediction: logits or probabilities) of one sample x, and their softmax
 * (probabilities unchanged when the prediction layer is a softmax). `m` planned for batch 1
 * (either load mode). scores/probs: cap floats each (may be NULL); *k receives the count. */
cn_status cn_viz_predict(cn_model *m, const float *x, float *scores, float *probs, int cap, int *k);
/* Gradient saliency (Simonyan et al. 2014): g = d score[cls] / d x through the whole network
 * (cn_model_backward with a one-hot dy on the prediction, then cn_model_input_grad); map (H*W
 * of the input's spatial size, or W for 1D) = max over channels of |g|. grad (same shape as x)
 * may be NULL. `m` loaded with CN_VIZ_LOAD_GRAD, batch 1. */
cn_status cn_viz_saliency(cn_model *m, const float *x, int cls, float *map, float *grad);
/* Occlusion sensitivity (Zeiler & Fergus 2014): a patch x patch square of value `fill` slides
 * with `stride`; map[pixel] = mean over the placements covering it of (p[cls] before -
 * p[cls] occluded), p the softmax probabilities. `m` any load mode; it is re-planned for
 * batches of placements and left planned for batch 1. 2D inputs only. */
cn_status cn_viz_occlusion(cn_model *m, const float *x, int cls, int patch, int stride, float fill, float *map);
/* out = in (RGB) blended with cmap(map normalized to its max) at `alpha`. map is in->h x in->w. */
cn_status cn_viz_overlay(cn_image *out, const cn_image *in, const float *map, cn_colormap cm, double alpha);

/* ---- training runs: log, curves, report --------------------------------------------------- */
typedef struct cn_run_epoch {
    double epoch, step, lr, train_loss, train_acc, val_loss, val_acc, time_s, samples_per_s; /* NAN if absent */
} cn_run_epoch;
typedef struct cn_run_log {
    int n;
    cn_run_epoch *e; /* n records, owned */
} cn_run_log;
/* Read RUNDIR/log.jsonl (or any JSON-lines file): one object per line; blank lines skipped.
 * Errors name the file and line ("log.jsonl:3: not a JSON object"). An empty log is
 * CN_STATUS_FORMAT ("no epochs"). */
cn_status cn_run_log_load(cn_run_log *log, const char *path);
void cn_run_log_free(cn_run_log *log);

/* Loss and accuracy curves (train solid, validation dashed) against the epoch: two panels
 * side by side (one when no accuracy is recorded). SVG text (cn_free it) or an RGB image
 * drawn by convnet's own rasterizer (anti-aliased lines, a built-in bitmap font). */
cn_status cn_plot_curves_svg(char **svg, const cn_run_log *log, int width, int height, const char *title);
cn_status cn_plot_curves_image(cn_image *im, const cn_run_log *log, int width, int height, const char *title);

/* The curves into a file by its extension: .svg, else an image format cn_image_save knows.
 * Atomic. */
cn_status cn_plot_curves_save(const cn_run_log *log, const char *path, int width, int height, const char *title);

/* A 1D signal x (c, n) as lines (one colour per channel) over a background that shows
 * heat (n values, e.g. a saliency map; NULL: none) on the heat colour map, normalized to its
 * largest value. For MNIST-1D-like inputs. RGB image of width x height. */
cn_status cn_plot_signal_image(cn_image *im, const float *x, int c, int64_t n, const float *heat, int width, int height,
                               const char *title);

typedef struct cn_report_config {
    const char *data;      /* dataset spec (cn_dataset_open) for example predictions; NULL: the
                              dataset metrics.json names, if it opens; "": none */
    int examples;          /* how many example predictions (default 16) */
    const char *classes;   /* class names separated by commas, or NULL (fashion-mnist: known) */
    int max_filter_layers; /* conv layers whose filters are shown (default 4) */
} cn_report_config;
cn_report_config cn_report_defaults(void);
/* One self-contained HTML page for a run directory (model.cfg, log.jsonl,
 * weights.safetensors or checkpoint.safetensors, metrics.json; each optional, at least one
 * needed): metrics, curves (inline SVG), model summary table, filter grids and example
 * predictions (inline PNG data URIs), confusion matrix heat map. No scripts, no external
 * resources. Written atomically. */
cn_status cn_report_write(const char *rundir, const char *out_path, const cn_report_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
