/* convnet/dataset.h — datasets (indexable samples with targets) and the loader that batches,
 * shuffles and prepares them for training.
 *
 *     cn_dataset *train, *test;
 *     if (cn_dataset_open(&train, &test, "mnist1d") != CN_OK) puts(cn_last_error());
 *     cn_loader *ld;
 *     cn_loader_config lc = cn_loader_defaults();
 *     lc.batch = 100, lc.seed = 42;
 *     cn_loader_create(&ld, train, &lc);
 *     cn_loader_start_epoch(ld, 0);
 *     cn_batch b;
 *     while (cn_loader_next(ld, &b) == 1) { ... b.x (b.count x sample), b.target ... }
 *
 * Ownership: a dataset owns its samples (or the source it reads them from); a loader borrows
 * its dataset (and augmentation pipeline), which must outlive it; batch buffers belong to the
 * loader and stay valid until the next cn_loader_next, cn_loader_start_epoch, cn_loader_seek
 * or cn_loader_destroy. Datasets are safe to read from several
 * threads at once (cn_dataset_get does not modify the dataset).
 */
#ifndef CONVNET_DATASET_H
#define CONVNET_DATASET_H

#include "rng.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cn_target_kind {
    CN_TARGET_NONE = 0,    /* no targets */
    CN_TARGET_CLASS,       /* one class index per sample (stored as a float) */
    CN_TARGET_DENSE_CLASS, /* a class index per position: segmentation masks, shape = spatial dims */
    CN_TARGET_TENSOR,      /* real or binary values of a fixed shape: regression, multi-label */
    CN_TARGET_BOXES,       /* object detection, for YOLO-style detectors: target shape is
                            * (max_boxes, 5); row b is (class, cx, cy, w, h) for box b, with the
                            * centre and size as fractions of the image width and height (so
                            * 0 <= cx - w/2 < cx + w/2 <= 1) and class in [0, num_classes).
                            * Boxes come first, in no particular order; the remaining rows are
                            * padding: class -1 and zeros. Augmentation moves, clips and drops
                            * boxes with the image (a box left with less than a quarter of its
                            * area, or under one pixel wide or high, becomes padding). */
} cn_target_kind;

typedef struct cn_dataset_info {
    int64_t n;              /* number of samples */
    cn_shape sample;        /* one input without the batch: C, CxW, CxHxW or CxDxHxW */
    cn_target_kind target_kind;
    cn_shape target;        /* one target: ndim 0 for CLASS; the spatial dims for DENSE_CLASS;
                               (max_boxes, 5) for BOXES */
    int num_classes;        /* CLASS / DENSE_CLASS / BOXES: classes are in [0, num_classes); else 0 */
    char name[64];          /* "fashion-mnist/train", "mnist1d/test", ... */
} cn_dataset_info;

/* Floats per sample and per target (1 for CLASS). */
int64_t cn_dataset_info_sample_size(const cn_dataset_info *info);
int64_t cn_dataset_info_target_size(const cn_dataset_info *info);

/* A source of samples. get() writes sample i's input (sample_size floats) and target
 * (target_size floats, or nothing for NONE); it must be safe to call from several threads
 * and must not fail once the dataset is created (validate everything up front), except for
 * I/O that can fail late: it then returns a status with a message naming the sample. */
typedef struct cn_dataset_ops {
    cn_status (*get)(void *self, int64_t i, float *x, float *target);
    void (*destroy)(void *self); /* frees self; may be NULL */
} cn_dataset_ops;

typedef struct cn_dataset cn_dataset;

/* Wrap a source. The dataset owns `self` and calls ops->destroy on it in cn_dataset_destroy
 * (also when creation fails). */
cn_status cn_dataset_create(cn_dataset **out, const cn_dataset_info *info, const cn_dataset_ops *ops, void *self);
/* A dataset over arrays: x holds n * sample_size floats, targets n * target_size (or NULL
 * for NONE). The arrays are copied. Class targets are checked against num_classes. */
cn_status cn_dataset_from_arrays(cn_dataset **out, const cn_dataset_info *info, const float *x, const float *targets);
/* A view of `base` (which must outlive it) holding the samples idx[0..n). */
cn_status cn_dataset_subset(cn_dataset **out, const cn_dataset *base, const int64_t *idx, int64_t n);
/* Split base into train and validation parts: `fraction` of the samples (at least one) go to
 * validation, chosen with `seed`; `balanced` keeps class proportions (CLASS targets only). */
cn_status cn_dataset_split(cn_dataset **train, cn_dataset **val, const cn_dataset *base, double fraction, uint64_t seed,
                           int balanced);
const cn_dataset_info *cn_dataset_info_of(const cn_dataset *d);
cn_status cn_dataset_get(const cn_dataset *d, int64_t i, float *x, float *target);
void cn_dataset_destroy(cn_dataset *d);

/* Class names (copied): n must equal info.num_classes. Subsets and splits made afterwards
 * share them. cn_dataset_class_name gives NULL when the dataset has none or k is out of range. */
cn_status cn_dataset_set_class_names(cn_dataset *d, const char *const *names, int n);
const char *cn_dataset_class_name(const cn_dataset *d, int k);

/* Per-channel mean and standard deviation of the inputs (channel = the sample's first
 * dimension; a 1-D sample is one channel), over the first `max_samples` samples (0 = all),
 * accumulated in double in a fixed order (the same at any thread count). mean and std hold
 * sample.dim[0] values (1 for a 1-D sample). A channel with std 0 reports std 1, so dividing
 * by it is safe. */
cn_status cn_dataset_channel_stats(const cn_dataset *d, int64_t max_samples, float *mean, float *std);
/* Samples per class (CLASS targets): counts[num_classes]. */
cn_status cn_dataset_class_counts(const cn_dataset *d, int64_t *counts);

/* Open a dataset by name, as `convnet train --data SPEC` does. Options follow a colon as
 * comma-separated key=value pairs; unknown keys are errors that list the valid ones.
 *   mnist1d[:seed=S,n=N,shuffle=0|1]
 *        MNIST-1D generated in C (4,000 train / 1,000 test by default); samples 1 x 40.
 *   fashion-mnist    /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist);
 *        1 x 28 x 28 in [0, 1], 60,000 train / 10,000 test, with the class names.
 *   idx:DIR          DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]; pixels / 255.
 *   npy:DIR[:layout=L]   DIR/x_train.npy, y_train.npy and, if present, x_test.npy, y_test.npy
 *   npz:FILE[:layout=L]  the same four arrays in a NumPy .npz archive
 *        Inputs: any numeric dtype (uint8 is divided by 255), first axis = samples. Layout
 *        (L): auto (default) reads (N, L) as 1 x L signals, (N, H, W) as 1 x H x W images
 *        and (N, C, H, W) / (N, C, D, H, W) as they are; ncw reads (N, C, W) as C x W
 *        signals; nhwc transposes channels-last (N, H, W, C) images to C x H x W.
 *        Targets: a 1-D integer array gives class labels; an integer array of the inputs'
 *        spatial shape gives per-position classes (segmentation); a float array gives
 *        regression targets of its shape.
 *   folder:DIR[:size=HxW,channels=C,bad=stop|skip,cache=auto|0|1]
 *        images in one subfolder per class (names sorted = class indices). With DIR/train
 *        (and optionally DIR/test or DIR/val) those are the parts, else DIR is the training
 *        part. PNG, JPEG, BMP, GIF, PGM/PPM, TGA (by content; files are picked by their
 *        extension). Every image is converted to C channels (default: 1 if the first image
 *        is gray, else 3; pixels / 255) and resized to H x W (default: the first image's
 *        size; a different size is then an error naming the file). A file that fails
 *        to decode stops the open with its name (bad=stop, default) or is left out and
 *        counted in a warning (bad=skip). cache=1 decodes everything once at open (the
 *        default when it takes under 1 GiB); cache=0 decodes in the loader's workers.
 *   synthetic-seg[:n=N,test=M,size=S|HxW,channels=C,seed=S,shapes=K,noise=F]
 *        images of random discs (class 1), rectangles (2) and triangles (3) on a noisy
 *        background (0) with a per-pixel class mask (CN_TARGET_DENSE_CLASS). Defaults: 2000
 *        train, 400 test, 64x64, 3 channels, up to 4 shapes, noise 0.05, seed 1.
 *   synthetic-det[:n=N,test=M,size=S|HxW,channels=C,seed=S,objects=K,max_boxes=B,
 *                 source=shapes|fashion,min_size=P,max_size=P,noise=F]
 *        a canvas with 1..K objects at random positions and sizes (min_size..max_size pixels)
 *        with their classes and boxes (CN_TARGET_BOXES, B rows). source=shapes draws discs,
 *        rectangles and triangles (classes 0, 1, 2) in colour; source=fashion pastes
 *        Fashion-MNIST items (10 classes, gray; needs dataset-fashion-mnist). Objects
 *        overlap by at most IoU 0.3; a box is the bounds of the pixels its object painted
 *        (items: pixels above 0.1). Defaults: 2000 train, 400 test, 64x64, 3 channels
 *        (fashion: 1), up to 4 objects, 8 boxes, shapes, sizes 12..32, noise 0.05, seed 1.
 * Synthetic samples are generated on request from (seed, part, index), so they cost no
 * memory and are the same at any thread count.
 * *test may be NULL when not wanted; it is NULL when the source has no test part. Errors
 * name the spec, the file and the problem. */
cn_status cn_dataset_open(cn_dataset **train, cn_dataset **test, const char *spec);

/* ---- the loader ---- */
typedef struct cn_loader_config {
    int64_t batch;          /* samples per batch (default 32) */
    int shuffle;            /* reshuffle every epoch (default 1) */
    int drop_last;          /* drop the last partial batch (default 0: keep it) */
    uint64_t seed;          /* epoch e's order is a permutation drawn from (seed, CN_STREAM_SHUFFLE, e) */
    int shard_rank, shard_count; /* data parallelism: this process takes every shard_count-th
                                    sample of each epoch's order, starting at shard_rank (default 0, 1) */
    /* ---- preparation (added fields; cn_loader_defaults fills them) ---- */
    const struct cn_augment *augment; /* applied to every sample on the fly, after it is read
                                    and before normalization (NULL: none, the default);
                                    borrowed: must outlive the loader. The randomness of
                                    sample i in epoch e comes from cn_augment_rng(seed, e, i),
                                    so batches are identical at any worker count. */
    int workers;            /* background threads preparing batches ahead of the caller
                               (default 2); 0: each batch is prepared inside cn_loader_next,
                               split over the thread pool */
    int prefetch;           /* batches prepared ahead with workers > 0 (default 0 = workers + 1) */
    int normalize;          /* CN_NORMALIZE_NONE (default), _GIVEN: x = (x - mean[c]) / std[c]
                               with the arrays below (copied), _COMPUTE: mean and std per channel
                               computed from this loader's dataset at creation (read them back
                               with cn_loader_normalization to normalize a validation loader
                               the same way) */
    const float *mean, *std; /* _GIVEN: one value per channel (the sample's first dimension) */
} cn_loader_config;

enum { CN_NORMALIZE_NONE = 0, CN_NORMALIZE_GIVEN = 1, CN_NORMALIZE_COMPUTE = 2 };

cn_loader_config cn_loader_defaults(void);

typedef struct cn_batch {
    int64_t count;          /* samples in this batch (the last may be short) */
    float *x;               /* count x sample_size, owned by the loader */
    float *target;          /* count x target_size, owned by the loader (NULL for NONE) */
    const int64_t *index;   /* count dataset indices, owned by the loader */
} cn_batch;

typedef struct cn_loader cn_loader;
cn_status cn_loader_create(cn_loader **out, const cn_dataset *d, const cn_loader_config *cfg);
/* Begin epoch e: fixes its order. */
cn_status cn_loader_start_epoch(cn_loader *l, int64_t epoch);
/* 1 and fills *b with the next batch; 0 at the end of the epoch; -1 on failure (message set). */
int cn_loader_next(cn_loader *l, cn_batch *b);
/* Batches per epoch with this configuration. */
int64_t cn_loader_batches(const cn_loader *l);
/* Continue the current epoch at batch b (0 <= b <= batches): resuming a run mid-epoch gives
 * the same batches as running through. */
cn_status cn_loader_seek(cn_loader *l, int64_t b);
/* The per-channel mean and std applied (NULL, NULL and 0 channels without normalization);
 * borrowed from the loader. */
int cn_loader_normalization(const cn_loader *l, const float **mean, const float **std);
void cn_loader_destroy(cn_loader *l);

#ifdef __cplusplus
}
#endif
#endif
