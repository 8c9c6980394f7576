/* convnet/darknet.h — Darknet models: .cfg files as convnet models, .weights files as their
 * parameters.
 *
 * Sections read: [net] (input height, width, channels; training keys are ignored),
 * [convolutional] (filters, size, stride, pad/padding, groups, dilation, batch_normalize,
 * activation), [connected] (output, batch_normalize, activation), [maxpool] (size, stride,
 * padding), [avgpool] (global), [dropout] (probability), [shortcut] (from, activation),
 * [route] (layers), [upsample] (stride), [softmax] (groups = 1), [cost] (no layer: Darknet
 * skips it for the output), [crop] (the centre crop Darknet uses at inference, with its
 * x*2 - 1 rescaling), [region] and [yolo] (output layers carrying their anchors).
 * Activations: linear, relu, leaky (slope 0.1), logistic, tanh, elu, selu.
 *
 * Darknet layer i becomes one to three convnet layers named after it: "conv3" (or "fc3",
 * "maxpool3", ...) is the layer whose output Darknet calls layer 3; a convolution with batch
 * normalisation and an activation is conv3_c (no bias), conv3_bn, then conv3 (the activation).
 * So a summary lists Darknet's layers by their indices, and `route`/`shortcut` references
 * resolve to those names. Parameter counts equal Darknet's (weights, biases, and batch-norm
 * scales; running statistics are not learnable).
 *
 * Weights: the .weights header (major, minor, revision, then `seen` as 64 bits from version 0.2
 * on, else 32) and, per layer in cfg order, Darknet's layout: convolutional = biases, [scales,
 * rolling mean, rolling variance], weights; connected = biases, weights, [scales, mean,
 * variance]. Darknet normalises with (x - mean) / (sqrt(var) + 1e-6); convnet's batch_norm
 * divides by sqrt(var + eps), so loading stores running_var = (sqrt(var) + 1e-6)^2 - eps with
 * eps = 1e-12 (the same function of x, to rounding). The file must hold exactly the floats the
 * cfg needs: a short or long file is an error naming both counts.
 *
 * Errors name the file, the line and the value ("yolov3-tiny.cfg:87: [route] layers = 30:
 * layer 30 does not exist (this is layer 19)"); unknown keys are warnings (Darknet forks add
 * many), unknown sections and activations are errors.
 */
#ifndef CONVNET_DARKNET_H
#define CONVNET_DARKNET_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Build a model (unplanned, no weights) from a Darknet cfg. *out is NULL on failure.
 * `name` labels messages. */
cn_status cn_darknet_parse(cn_model **out, const char *text, size_t len, const char *name);
cn_status cn_darknet_load(cn_model **out, const char *cfg_path);
/* Load a .weights file into a planned model built by cn_darknet_parse/_load. Everything is
 * checked before anything is written: on failure the parameters are unchanged. */
cn_status cn_darknet_load_weights(cn_model *m, const char *weights_path);
cn_status cn_darknet_load_weights_buffer(cn_model *m, const void *buf, size_t len, const char *name);
/* 1 if the text looks like a Darknet cfg (its first section is [net] or [network]). */
int cn_darknet_is_cfg(const char *text, size_t len);

#ifdef __cplusplus
}
#endif
#endif
