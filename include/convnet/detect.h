/* convnet/detect.h — YOLO-v1 detection (Redmon et al. 2016): the loss on an S x S grid,
 * decoding the grid into scored boxes, IoU, and non-maximum suppression.
 *
 *     cn_yolo_geom g = cn_yolo_geom_make(n, 7, 7, 2, 3, 8);  // N images, 7x7 grid, B=2, C=3, 8 targets
 *     if (cn_yolo_check(&g, "yolo") != CN_OK || cn_yolo_check_targets(t, &g, "yolo") != CN_OK) ...
 *     double loss = cn_yolo_loss(dpred, pred, t, &g);
 *     cn_detection d[7 * 7 * 2 * 3];
 *     int64_t k = cn_yolo_decode(d, 7 * 7 * 2 * 3, pred, &g, image, 0.2f);
 *     k = cn_nms(d, k, 0.5f, 1);                            // d[0..k): the detections, best first
 *
 * Boxes are (cx, cy, w, h): centre and size as fractions of the image's width and height, so
 * the image is [0, 1] x [0, 1] (x to the right, y down).
 *
 * Prediction layout: pred (N, D, SH, SW) with D = 5B + C, channel-major (a conv output, or a
 * dense output of D*SH*SW features read the same way). In cell (i, j) (row i, column j), box b
 * has channels 5b + 0..4 = (x, y, sw, sh, conf): x, y the centre's offset inside the cell in
 * cell units ([0, 1] inside it), sw, sh the SQUARE ROOTS of the width and height (the paper
 * predicts square roots, so errors on small boxes weigh more), conf the confidence; channels
 * 5B + k are the class scores P(class k | object). The predicted box is
 *     cx = (j + x) / SW, cy = (i + y) / SH, w = sw^2, h = sh^2.
 *
 * Target layout: (N, max_boxes, 5), rows (class, cx, cy, w, h) with the box normalized to
 * [0, 1] as above and the class a whole number in [0, C); unused rows have class -1 (their other
 * values are ignored). An object belongs to the cell holding its centre, row
 * min(floor(cy SH), SH-1), column min(floor(cx SW), SW-1); YOLO-v1 predicts one object per
 * cell, so when several centres share a cell the first row wins and the others are ignored.
 *
 * The loss (the paper's equation 3, sum-squared error, averaged over the N images): in each cell
 * holding an object, the RESPONSIBLE box r is the one whose predicted box has the highest IoU
 * with the object's box (when every box has IoU 0, the one with the smallest squared error on
 * (x, y, sw, sh), as Darknet does; ties go to the lower b). With tx = cx SW - j, ty = cy SH - i:
 *     lambda_coord [(x_r - tx)^2 + (y_r - ty)^2 + (sw_r - sqrt w)^2 + (sh_r - sqrt h)^2]
 *   + (conf_r - c*)^2                          c* = IoU(predicted r, truth) (rescore) or 1
 *   + sum_k (p_k - [k = class])^2
 * and in every cell, each box that is not responsible (all of them where there is no object):
 *   + lambda_noobj conf^2
 * With rescore the confidence target IoU is held fixed in the gradient (as Darknet does): the
 * gradient is that of the loss with c* a constant, so confidences learn to predict the IoU
 * without the IoU pulling the box.
 * Kernels never allocate, print or fail; the check functions validate.
 */
#ifndef CONVNET_DETECT_H
#define CONVNET_DETECT_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cn_box {
    float cx, cy, w, h; /* centre and size, fractions of the image */
} cn_box;

/* Intersection over union; 0 when the union is empty (degenerate boxes). */
float cn_box_iou(const cn_box *a, const cn_box *b);

/* ---- the YOLO-v1 loss ---- */
typedef struct cn_yolo_geom {
    int64_t n;            /* images */
    int64_t sh, sw;       /* grid rows and columns */
    int64_t b;            /* boxes per cell */
    int64_t c;            /* classes */
    int64_t max_boxes;    /* target rows per image */
    float lambda_coord;   /* 5 in the paper */
    float lambda_noobj;   /* 0.5 in the paper */
    int rescore;          /* 1: confidence target = IoU (paper); 0: 1 */
} cn_yolo_geom;

/* {n, sh, sw, b, c, max_boxes}, lambda_coord 5, lambda_noobj 0.5, rescore 1 */
cn_yolo_geom cn_yolo_geom_make(int64_t n, int64_t sh, int64_t sw, int64_t b, int64_t c, int64_t max_boxes);
/* D = 5B + C, the prediction channels per cell */
int64_t cn_yolo_channels(const cn_yolo_geom *g);
/* "yolo 'det': boxes=0 must be >= 1"; sizes >= 1, lambdas finite and >= 0 */
cn_status cn_yolo_check(const cn_yolo_geom *g, const char *name);
/* every target row: class -1, or a whole number in [0, C) with finite cx, cy in [0, 1] and
 * w, h in (0, 1]: "yolo 'det': image 1, target row 3: class 5 is not in [0, 3) or -1 (padding)" */
cn_status cn_yolo_check_targets(const float *targets, const cn_yolo_geom *g, const char *name);
/* returns L; dpred (N, D, SH, SW) or NULL = dL/dpred (overwritten), given pred (N, D, SH, SW)
 * and targets (N, max_boxes, 5) */
double cn_yolo_loss(float *dpred, const float *pred, const float *targets, const cn_yolo_geom *g);

/* ---- decoding and suppression ---- */
typedef struct cn_detection {
    cn_box box;
    float score;   /* class-specific confidence: clamp(conf, 0, 1) * clamp(p_class, 0, 1) */
    int cls;
} cn_detection;

/* The boxes of image `image` of pred (N, D, SH, SW): for every cell, box and class, a detection
 * with score = clamp(conf, 0, 1) * clamp(p_k, 0, 1) (the paper's class-specific confidence;
 * the clamps keep two negative raw outputs from making a positive score), kept when
 * score >= threshold and score > 0. Writes the first `cap` of them to out (cell-major, then box,
 * then class) and returns how many there are (possibly more than cap). At most SH*SW*B*C. */
int64_t cn_yolo_decode(cn_detection *out, int64_t cap, const float *pred, const cn_yolo_geom *g, int64_t image,
                       float threshold);

/* Greedy non-maximum suppression on d[0..n): sorts by score, highest first (a stable sort:
 * equal scores keep their order), then walks down the list keeping a detection unless a kept
 * one of the same class (of any class when per_class is 0) overlaps it with IoU > iou_threshold.
 * The kept detections end up in d[0..k), best first; returns k. */
int64_t cn_nms(cn_detection *d, int64_t n, float iou_threshold, int per_class);

/* ---- evaluation ---- */
/* Average precision of class `cls` over a set of images (PASCAL VOC 2010+ / COCO-style
 * all-point interpolation: the area under the precision-recall curve after making precision
 * non-increasing). det[0..n) are the detections of every image, image[i] the image (0 ..
 * n_images-1) of det[i]; targets (n_images, max_boxes, 5) are the ground truth in the loss's
 * layout (class -1 = padding). Detections of class `cls` are taken by score, highest first (ties:
 * lower index first); each is a true positive if the truth box of that class in its image it
 * overlaps most has IoU >= iou_threshold and was not matched by a better detection, else a
 * false positive (VOC's rule). Scratch: `order` (n int64) and `matched` (n_images * max_boxes
 * bytes). Returns AP in [0, 1]; NAN when the class has no truth box (leave it out of the mean:
 * mAP is the mean of AP over the classes present). */
double cn_detection_ap(const cn_detection *det, const int64_t *image, int64_t n, const float *targets, int64_t n_images,
                       int64_t max_boxes, int cls, float iou_threshold, int64_t *order, unsigned char *matched);

#ifdef __cplusplus
}
#endif
#endif
