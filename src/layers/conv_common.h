/* conv_common.h — options and geometry shared by the convolution-family layers (conv,
 * conv_transpose, separable_conv, locally_connected, tiled_conv). Each layer's config
 * struct starts with a cn_convlike_cfg, and its option table lists the CN_CONVLIKE_OPTS it uses. */
#ifndef CN_LAYERS_CONV_COMMON_H
#define CN_LAYERS_CONV_COMMON_H

#include "convnet/conv.h"
#include "layer.h"

typedef struct cn_convlike_cfg {
    int64_t filters;
    cn_ints kernel, stride, dilation;
    cn_padding padding;
    int64_t groups;
    int bias;
    int pad_mode;   /* cn_pad_mode */
    int flip;
    int init;       /* index into CN_CONV_INIT_CHOICES */
    int dims;       /* 0 = from the input's rank, else 1..3 (checked) */
    cn_ints output_padding, output_shape; /* conv_transpose only */
    cn_ints tile;                         /* tiled_conv only */
} cn_convlike_cfg;

#define CN_CONV_INIT_CHOICES "he_normal|he_uniform|xavier_normal|xavier_uniform"

/* option table entries for a config struct T whose first member `c` is a cn_convlike_cfg */
#define CN_OPT_FILTERS(T) {"filters", CN_OPT_INT, offsetof(T, c.filters), NULL, NULL, "output channels"}
#define CN_OPT_KERNEL(T) {"kernel", CN_OPT_INTS, offsetof(T, c.kernel), NULL, NULL, "kernel size: k (every axis) or per axis, e.g. 3x5"}
#define CN_OPT_STRIDE(T) {"stride", CN_OPT_INTS, offsetof(T, c.stride), "1", NULL, "stride: s or per axis"}
#define CN_OPT_DILATION(T) {"dilation", CN_OPT_INTS, offsetof(T, c.dilation), "1", NULL, "dilation: d or per axis (1 = dense)"}
#define CN_OPT_PADDING(T) {"padding", CN_OPT_PADDING, offsetof(T, c.padding), "0", NULL, \
    "same | same_lower | valid | p (all sides) | per axis 1x2 | begins then ends 0,1,1,0 (ONNX order)"}
#define CN_OPT_GROUPS(T) {"groups", CN_OPT_INT, offsetof(T, c.groups), "1", NULL, "channel groups (groups = input channels: depthwise)"}
#define CN_OPT_BIAS(T) {"bias", CN_OPT_BOOL, offsetof(T, c.bias), "true", NULL, "add a learned bias per output channel"}
#define CN_OPT_PAD_MODE(T) {"pad_mode", CN_OPT_ENUM, offsetof(T, c.pad_mode), "zero", "zero|reflect|replicate", \
    "what padded positions hold"}
#define CN_OPT_FLIP(T) {"flip", CN_OPT_BOOL, offsetof(T, c.flip), "false", NULL, \
    "true convolution (kernel flipped) instead of cross-correlation"}
#define CN_OPT_INIT(T) {"init", CN_OPT_ENUM, offsetof(T, c.init), "he_normal", CN_CONV_INIT_CHOICES, "weight initialization"}
#define CN_OPT_OUTPUT_PADDING(T) {"output_padding", CN_OPT_INTS, offsetof(T, c.output_padding), "0", NULL, \
    "extra output at the end of each axis (< stride)"}
#define CN_OPT_OUTPUT_SHAPE(T) {"output_shape", CN_OPT_INTS, offsetof(T, c.output_shape), "0", NULL, \
    "wanted output spatial size (pads derived as ONNX ConvTranspose does); 0 = from the formula"}
#define CN_OPT_TILE(T) {"tile", CN_OPT_INTS, offsetof(T, c.tile), "2", NULL, \
    "number of kernels cycled across output positions, per axis"}
#define CN_OPT_DIMS(T) {"dims", CN_OPT_INT, offsetof(T, c.dims), "0", NULL, \
    "spatial dimensions 1, 2 or 3 (0: from the input: NCW, NCHW, NCDHW)"}

/* Checks that need no shapes (filters >= 1, groups >= 1, dims 0..3). */
cn_status cn_convlike_check(const cn_layer *l, const cn_convlike_cfg *c);
/* Fill and resolve g from the options and l->in[0]; `kind` says which resolver
 * (0 conv, 1 transposed, 2 locally connected, 3 tiled). Errors name the layer. */
cn_status cn_convlike_geom(const cn_layer *l, const cn_convlike_cfg *c, int kind, cn_conv_geom *g);
/* Output shape (N, OC, *out) from a resolved geometry. */
cn_shape cn_convlike_out_shape(const cn_conv_geom *g);
/* A weight spec with the configured init and fans; a zero-initialized bias spec. */
cn_param_spec cn_convlike_weight(const cn_convlike_cfg *c, cn_shape shape, double fan_in, double fan_out);
cn_param_spec cn_convlike_bias(cn_shape shape);
/* prod of the first ndim entries */
int64_t cn_prod(const int64_t *v, int ndim);

#endif
