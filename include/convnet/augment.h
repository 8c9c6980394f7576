/* convnet/augment.h — data augmentation applied on the fly, and test-time augmentation.
 *
 * A pipeline is a list of operations written as text, the way `convnet train --augment`
 * takes it: operations separated by commas, each NAME, NAME=VALUE (its main parameter) and
 * further :KEY=VALUE parameters:
 *
 *     hflip,rotate=15,crop=4,jitter=0.2
 *     rrc=0.25:ratio=1.5,erase=0.5:max=0.2,noise=0.02
 *
 *     cn_augment *a;
 *     if (cn_augment_parse(&a, "hflip,rotate=15") != CN_OK) puts(cn_last_error());
 *     lc.augment = a;   // cn_loader_config: every sample of every epoch is augmented
 *     ...
 *     cn_augment_destroy(a);
 *
 * Every operation has a probability p (key :p=, default 1, flips and erasing 0.5) and draws
 * its random parameters from the sample's stream: cn_augment_rng(seed, epoch, index) — a
 * Philox stream keyed by the run's seed, the epoch and the sample's dataset index — with
 * operation k reading its own stretch of that stream, so results do not depend on threads,
 * batch size or order, and changing one operation leaves the others' draws unchanged.
 *
 * Samples are C x H x W images or C x W signals (H = 1); the output has the sample's shape.
 * Coordinates are continuous, pixel (i, j) covering [j, j+1) x [i, i+1); geometric operations
 * are composed into one mapping and the image is resampled once (bilinear inside the image,
 * `fill` outside, 0 by default), so a chain of them blurs no more than one. Masks
 * (CN_TARGET_DENSE_CLASS) follow with nearest-neighbour sampling (class 0 outside the image);
 * boxes (CN_TARGET_BOXES) follow through the forward mapping (their corners, or 8 points per
 * edge for the lens distortions) and are clipped to the image. Colour operations assume
 * values in [0, 1] and clamp to it; saturation and hue need 3 channels (they leave 1-channel
 * images alone).
 *
 * Operations (main parameter first; ranges are checked when parsed):
 *   geometric
 *     hflip[=P]           mirror left-right with probability P (0.5)
 *     vflip[=P]           mirror top-bottom with probability P (0.5)
 *     rotate=DEG          rotate about the centre by U(:min=0, DEG) degrees (15, at most 180)
 *                         either way (a random sign; positive turns counter-clockwise on
 *                         screen); :crop=1 (default) zooms in just enough that no corner is empty
 *                         (the largest centred crop of the image's aspect), :crop=0 keeps
 *                         the scale and fills the corners
 *     crop=PAD            random crop with padding: the image is padded by PAD pixels on
 *                         every side (fill) and a crop of the original size is taken at a
 *                         random integer offset (4)
 *     rrc=MIN             random resized crop: a region of U(MIN, :max=1) of the area and
 *                         aspect ratio exp(U(-ln R, ln R)) with :ratio=R (4/3), at a random
 *                         position in the image padded by :pad=0 pixels, resized to the
 *                         sample's size (0.08)
 *     translate=F         shift by U(-F, F) of the width and of the height (0.1)
 *     zoom=F              scale by U(1-F, 1+F) about the centre (0.1)
 *     stretch=F           aspect change: width x a, height / a, ln a ~ U(-ln(1+F), ln(1+F)) (0.2)
 *     hstretch=F          width x U(1-F, 1+F) about the centre (0.2)
 *     vstretch=F          height x U(1-F, 1+F) about the centre (0.2)
 *     barrel=K            radial distortion r_src = r (1 + k r^2), r = distance to the centre
 *                         over the half-diagonal, k ~ U(0, K) (0.2, at most 0.3)
 *     pincushion=K        the same with k ~ U(-K, 0)
 *     distort=K           the same with k ~ U(-K, K)
 *   colour (images, values in [0, 1])
 *     balance=F           colour balance: channel c x U(1-F, 1+F), per channel (0.1)
 *     brightness=F        add U(-F, F) (0.2)
 *     contrast=F          blend with the mean gray level: m + (x - m) U(1-F, 1+F) (0.2)
 *     saturation=F        blend with the pixel's gray level by U(1-F, 1+F) (0.2)
 *     hue=F               rotate the hue by U(-F, F) turns (in the YIQ chroma plane) (0.05, at most 0.5)
 *     exposure=F          multiply by 2^U(-F, F) (F in stops) (0.5)
 *     jitter=F            brightness=F, contrast=F and saturation=F (written out when parsed)
 *     vignette=F          darken towards the corners: x (1 - s (r/R)^2), s ~ U(0, F) (0.5, at most 1)
 *     blur=S              Gaussian blur, sigma ~ U(:min=0.1, S) pixels (1)
 *   any sample
 *     noise=S             add N(0, S^2) to every value (0.05)
 *     scale=F             multiply every value by U(1-F, 1+F) (amplitude; 0.1)
 *     erase[=P]           random erasing (cutout) with probability P (0.5): a rectangle of
 *                         U(:min=0.02, :max=0.33) of the area, aspect exp(U(-ln R, ln R)) with
 *                         :ratio=R (3.3), set to :value=V (0) or, with :random=1, to N(0, 1) noise
 *   signals (C x W)
 *     shift=N             shift by an integer in [-N, N] samples (4); :wrap=1 rotates
 *                         circularly instead of filling
 *   Geometric operations accept :fill=V, the value outside the image (0; where several are
 *   composed into one resampling, the first one's).
 *
 * Ownership: cn_augment_parse returns a pipeline the caller destroys; it is read-only while
 * applied, so one pipeline serves any number of threads.
 */
#ifndef CONVNET_AUGMENT_H
#define CONVNET_AUGMENT_H

#include "dataset.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CN_AUGMENT_MAX_OPS 64

typedef struct cn_augment cn_augment;

/* Parse a pipeline. Errors quote the operation and say what is wrong: "augment 'rotat=15':
 * unknown operation 'rotat' — did you mean 'rotate'?", "augment 'rotate=400': deg 400 is not
 * in [0, 180]", "augment 'crop=4:pda=2': unknown key 'pda' (crop takes pad, fill, p)". An
 * empty text is a pipeline that does nothing. */
cn_status cn_augment_parse(cn_augment **out, const char *text);
void cn_augment_destroy(cn_augment *a);
/* Operations in the pipeline (jitter counts as its three parts). */
int cn_augment_count(const cn_augment *a);
/* Canonical text of the whole pipeline (i < 0) or of operation i, every parameter written
 * out: "rotate=15:crop=1:fill=0:p=1". Returns buf (always terminated). */
char *cn_augment_str(const cn_augment *a, int i, char *buf, size_t cap);
/* A new pipeline holding operation i alone, with probability 1 (to show what it does). */
cn_status cn_augment_single(cn_augment **out, const cn_augment *a, int i);
/* Every operation with its parameters and defaults, one per line, for --help. */
const char *cn_augment_help(void);

/* Check that the pipeline fits samples of `info` (images C x H x W or signals C x W; masks of
 * the image's spatial shape; boxes (B, 5)); the message names the operation that does not fit. */
cn_status cn_augment_check(const cn_augment *a, const cn_dataset_info *info);
/* Floats of scratch cn_augment_apply needs for samples of `info`. */
int64_t cn_augment_scratch_size(const cn_augment *a, const cn_dataset_info *info);
/* The stream of sample `index` in `epoch`: key `seed`, stream CN_STREAM_AUGMENT + (epoch << 32),
 * position index << 32 (each operation k then reads from word k << 26 of that range). */
void cn_augment_rng(cn_rng *r, uint64_t seed, int64_t epoch, int64_t index);
/* Augment one sample in place: x (sample), target (its target, or NULL; masks and boxes move
 * with the image, class labels are left alone). Draws from a copy of *r (r is not advanced).
 * The pipeline must have passed cn_augment_check for `info`; never fails. */
void cn_augment_apply(const cn_augment *a, const cn_dataset_info *info, float *x, float *target, const cn_rng *r,
                      float *scratch);

/* ---- test-time augmentation ---------------------------------------------------------------
 * The five crops of AlexNet's evaluation (four corners and the centre) and, with flip, their
 * mirror images: views of each input that a model's predictions are averaged over. The crops
 * are taken from the input padded by `pad` zeros on every side, so with crop = the input size
 * and pad > 0 a model that takes full-size inputs sees the image shifted by pad pixels towards
 * each corner. */
typedef struct cn_tta_geom {
    int64_t n;              /* inputs */
    int64_t c, h, w;        /* input channels, height, width (h = 1 for signals) */
    int64_t crop_h, crop_w; /* view size: at most h + 2 pad, w + 2 pad */
    int64_t pad;            /* zero padding on every side (>= 0) */
    int flip;               /* 1: ten views (the five and their mirror images); 0: five */
} cn_tta_geom;

/* Validate; the message names the numbers. */
cn_status cn_tta_check(const cn_tta_geom *g);
/* 5 or 10 */
int cn_tta_views(const cn_tta_geom *g);
/* out (views, n, c, crop_h, crop_w) = views of x (n, c, h, w): view 0 top-left, 1 top-right,
 * 2 bottom-left, 3 bottom-right, 4 centre (offset floor((h + 2 pad - crop_h) / 2)), views 5..9
 * the same mirrored left-right. Each view is a contiguous batch of n inputs. */
void cn_tta_crops(float *out, const float *x, const cn_tta_geom *g);
/* out (n, k) = mean over views of preds (views, n, k), accumulated in double. */
void cn_tta_average(float *out, const float *preds, int views, int64_t n, int64_t k);

#ifdef __cplusplus
}
#endif
#endif
