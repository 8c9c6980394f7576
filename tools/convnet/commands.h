/* commands.h — the one list of `convnet` commands: name, one-line summary, usage, details
 * (NULL or a paragraph). Each command is cmd_<name> in cmd_<name>.c. Adding a command: write
 * the file, add one line here. */
CLI_COMMAND(version, "print the version, the CPU features and the kernels in use", "[--json]",
            NULL)
CLI_COMMAND(inspect, "validate a file and print what it holds", "FILE [--weights W] [--json]",
            "Recognises FILE by its content, reads it completely with the same parser the rest of convnet\n"
            "uses and prints what it holds, or the precise reason it is invalid (exit 1): NumPy .npy and\n"
            ".npz; safetensors weights (an embedded model is planned at batch 1, its layers listed and its\n"
            "tensors checked against it) and checkpoints (training state, optimizer buffers); IDX, plain or\n"
            "gzip; images (PNG, JPEG, BMP, GIF, PGM/PPM, PSD, HDR); ONNX models and tensors; Darknet .cfg;\n"
            "convnet model text; MNIST-1D folders and run directories. --weights W loads W into the model\n"
            "FILE describes (safetensors weights or checkpoint; Darknet .weights for a Darknet .cfg).")
CLI_COMMAND(random, "write a tensor of seeded random numbers to a .npy file", "--shape DIMS --out FILE [options]",
            "Draws from convnet's counter-based generator (Philox4x32-10): the same seed gives the same\n"
            "file whatever the thread count.")
CLI_COMMAND(layers, "list the layer types with their options and defaults", "[TYPE] [--json]",
            "Without TYPE: every layer type with a one-line summary. With TYPE: its options, their\n"
            "types, defaults and meaning, as written in model files (docs/FORMAT.md).")
CLI_COMMAND(summary, "per-layer output shapes, parameters, MACs and receptive fields of a model", "MODEL [options]",
            "Plans MODEL (a model file, docs/FORMAT.md) and prints, per layer: name, type, output shape\n"
            "(batch first), learnable parameters, multiply-accumulates, and the receptive field on the\n"
            "input with the jump (distance on the input between neighbouring outputs); then totals.")
CLI_COMMAND(filter, "apply a hand-made kernel (edges, blur, sharpen, Sobel, ...) to an image with the conv layer",
            "IN OUT (--kernel NAME | --kernel-file FILE) [options]",
            "Reads IN (PNG, JPEG, BMP, ...), filters every channel with the kernel through convnet's own conv\n"
            "layer (cross-correlation, as deep learning uses; --flip for true convolution), optionally max-pools,\n"
            "and writes OUT (.png/.jpg/.bmp/.tga; or .npy for the layer's raw floats). Pixels are read as 0..1;\n"
            "the output is clamped to 0..1, or stretched with --normalize. --list shows the named kernels.")
CLI_COMMAND(explain, "convolution arithmetic: output size, parameters, multiplies, receptive field",
            "conv [--input N --kernel K --stride S --dilation D --padding P --dims 1|2] | MODEL",
            "`explain conv` works out one convolution and, in 1D, draws the fully connected matrix it equals:\n"
            "which input each output reads through which kernel tap (`convnet explain conv --help` lists\n"
            "its options). `explain MODEL` lists every layer's receptive field and jump on the input.")
CLI_COMMAND(visualize, "pictures of a trained model: learned filters, feature maps, saliency",
            "filters|activations|saliency MODEL [--weights W] --out FILE [options]",
            "filters: a conv layer's kernels as an image grid (--layer). activations: a layer's feature maps for\n"
            "one input (--layer, --input IMG|X.npy or --data SPEC --index I). saliency: the gradient of the\n"
            "class score with respect to the input, and occlusion sensitivity, both over the input.\n"
            "MODEL is a model file with --weights, or a weights file that carries its model text.")
CLI_COMMAND(plot, "training curves (loss and accuracy, train and validation) as SVG or PNG", "RUNDIR --out FILE [options]",
            NULL)
CLI_COMMAND(report, "one self-contained HTML page for a training run", "RUNDIR --out report.html [--data SPEC]",
            "Metrics, curves (inline SVG), the model's summary, filter grids and example predictions (inline\n"
            "PNG), and the confusion matrix as a heat map; no scripts or external files.")
CLI_COMMAND(dataset, "write MNIST-1D as .npy files, or describe a dataset (sizes, shapes, classes, statistics)",
            "mnist1d --out DIR [--seed S] | info SPEC [--stats] [--json]",
            "convnet dataset mnist1d --out DIR writes x_train.npy (float32 [4000, 40]), y_train.npy (int64),\n"
            "x_test.npy, y_test.npy and t.npy; with the default seed 42 this is the frozen standard MNIST-1D.\n"
            "Load it back with --data npy:DIR. convnet dataset info SPEC opens SPEC as training would and\n"
            "prints each part's size, sample shape, target kind, classes (names and counts) and value range;\n"
            "--stats adds the per-channel mean and std of the training part (what normalization computes).\n"
            "Specs: mnist1d[:seed=S,n=N], fashion-mnist, idx:DIR, npy:DIR[:layout=L], npz:FILE[:layout=L],\n"
            "folder:DIR[:size=HxW,channels=C,bad=stop|skip,cache=auto|0|1], synthetic-seg[:n=,test=,size=,seed=,...],\n"
            "synthetic-det[:n=,test=,size=,seed=,objects=,max_boxes=,source=shapes|fashion,...] (include/convnet/dataset.h).")
CLI_COMMAND(augment, "a PNG grid of samples and their augmented versions, one row per augmentation",
            "--data SPEC --out DIR [--n 16] [--augment OPS] [options]",
            "Writes DIR/augment.png: the first row shows --n samples as they are, each following row the same\n"
            "samples through one augmentation (and, with --augment, --draws rows of the whole pipeline, one\n"
            "epoch each). Without --augment every operation is shown with a visible setting. Masks appear as a\n"
            "colour overlay and boxes as outlines, so you can see them move with the image; signals are plotted.\n"
            "Pipelines: operations separated by commas, NAME[=VALUE][:KEY=VALUE...], e.g.\n"
            "  hflip,rotate=15,crop=4,jitter=0.2     rrc=0.25:ratio=1.5,erase=0.5:max=0.2,noise=0.02\n"
            "Operations (main parameter first, defaults shown; include/convnet/augment.h says more): hflip vflip\n"
            "rotate crop rrc translate zoom stretch hstretch vstretch barrel pincushion distort balance brightness\n"
            "contrast saturation hue exposure jitter vignette blur noise scale erase shift.")
CLI_COMMAND(help, "show help for a command", "[COMMAND]",
            NULL)
CLI_COMMAND(train, "train a model on a dataset", "MODEL --data DATASET [options]",
            "Trains MODEL (a model file, or a weights file that carries its model) on DATASET with\n"
            "mini-batch SGD/Adam/AdamW and a learning-rate schedule, evaluating on the test (or\n"
            "--val-split) part after every epoch. With --out RUNDIR it writes log.jsonl, a\n"
            "checkpoint every epoch (atomically), and at the end weights.safetensors and metrics.json.\n"
            "--resume continues an interrupted run exactly (same seed and options). A model without\n"
            "a loss layer gets [softmax_cross_entropy] (class targets) or [mse]. Under mpirun -np P it\n"
            "trains data-parallel: --batch is the global batch (docs/DISTRIBUTED.md).")
CLI_COMMAND(eval, "evaluate a trained model: loss, accuracy, per-class table, confusion", "MODEL [--weights W] --data DATASET",
            NULL)
CLI_COMMAND(predict, "top-k classes with probabilities for images or .npy inputs", "MODEL [--weights W] INPUT...",
            "Each INPUT is a .npy array holding one sample (the model input's shape) or several, or an\n"
            "image (PNG, JPEG, BMP, PGM, PPM), converted to the input's channels and size, scaled to [0, 1].")
CLI_COMMAND(experiment, "reproduce a published result: results table, JSON and plots", "NAME [--quick] [--out DIR]",
            "Without NAME, lists the experiments. Results go to runs/NAME (or --out): results.txt,\n"
            "results.json, and one run directory per trained model. docs/EXPERIMENTS.md has full runs.")
CLI_COMMAND(onnx_test, "run ONNX backend test cases (model.onnx + test_data_set_N) and compare outputs", "DIR... [--cases LIST] [options]",
            "Each DIR is a test case (holding model.onnx) or a folder of them (e.g. libonnx-testdata's node/).\n"
            "Outputs are compared with |got - want| <= atol + rtol*|want| (default rtol 1e-3, atol 1e-7).\n"
            "Prints one line per case and 'N passed, M failed, K skipped'; exits 1 on any failure.\n"
            "--cases LIST runs the checked-in classification (tests/onnx/cases.txt: NAME run | NAME skip REASON).")
CLI_COMMAND(bench, "time convnet's kernels and small networks against PyTorch and Darknet on this machine", "[--shapes a,b,..] [options]",
            "Prints the machine (CPU, features, peak GFLOP/s measured with an FMA loop), then for the convolution\n"
            "shapes of issue 8 (a-h) convnet's median forward and forward+backward times, GFLOP/s and %% of peak,\n"
            "PyTorch's on the same shapes in the same run (bench/pytorch_bench.py with /usr/bin/python3; skipped\n"
            "with a note when torch is missing) and the ratios, on 1 thread and on all cores; then the small\n"
            "networks (MNIST-1D conv net, LeNet-5, ResNet-18): training samples/s, inference samples/s and\n"
            "batch-1 latency; then Darknet's ResNet-18 and yolov3-tiny cfgs, imported by convnet, against Darknet\n"
            "itself (bench/darknet_bench, built when Debian's darknet is installed; --no-darknet skips it).\n"
            "Each row says whether its target is met. A program, not a test.")
CLI_COMMAND(export, "write a model with its weights as an ONNX file", "MODEL [--weights W] --onnx OUT.onnx [options]",
            "MODEL is a model file, a weights file that carries its model, an .onnx file or a Darknet .cfg\n"
            "(with --weights FILE.weights). The graph outputs the prediction (loss layers are left out).")
CLI_COMMAND(import, "convert an ONNX model or a Darknet cfg+weights to a convnet weights file", "FILE [--weights W] --out OUT.safetensors",
            "The output carries the model text, so summary, train (fine-tuning), eval and predict read it.")
