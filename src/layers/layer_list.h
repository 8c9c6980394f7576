/* layer_list.h — the one list of layer types. Adding a layer: write src/layers/<file>.c
 * defining `const cn_layer_ops cn_layer_<name>`, then add one line here. The registry,
 * model files, `convnet layers` and the docs table all derive from this list. */
CN_LAYER(input)
CN_LAYER(conv)
CN_LAYER(conv_transpose)
CN_LAYER(separable_conv)
CN_LAYER(locally_connected)
CN_LAYER(tiled_conv)
