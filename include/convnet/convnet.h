/* convnet.h — the umbrella header of libconvnet.
 *
 * convnet is a library for convolutional neural networks in C11. Modules:
 *   core.h    status codes and errors, allocation hook, threads, CPU features, logging
 *   rng.h     counter-based random streams (Philox4x32-10)
 *   tensor.h  float32 tensors of up to 5 dims (N, C, D, H, W) and the arena
 *   npy.h     NumPy .npy reading and writing
 *   pool.h    pooling, unpooling, upsampling and pixel shuffle (geometry + reference kernels)
 *
 * Link with `pkg-config --cflags --libs convnet`, or in CMake:
 *   find_package(convnet REQUIRED)  target_link_libraries(app PRIVATE convnet::convnet)
 */
#ifndef CONVNET_H
#define CONVNET_H

#include "core.h"
#include "rng.h"
#include "tensor.h"
#include "npy.h"
#include "pool.h"
#include "data.h"
#include "model.h"
#include "safetensors.h"
#include "conv.h"
#include "ops.h"
#include "optim.h"
#include "detect.h"
#include "dataset.h"
#include "augment.h"
#include "train.h"
#include "dist.h"
#include "viz.h"

#include "onnx.h"
#include "darknet.h"

#endif
