/* pool_layer.h — what the pooling layers share with max_unpool. */
#ifndef CN_LAYERS_POOL_LAYER_H
#define CN_LAYERS_POOL_LAYER_H

#include "convnet/pool.h"
#include "layer.h"

extern const cn_layer_ops cn_layer_max_pool;
/* The geometry of a max_pool layer that keeps its indices (keep_indices = true), else NULL. */
const cn_pool_geom *cn_pool_layer_indices(const cn_layer *l);

#endif
