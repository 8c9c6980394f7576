/* commands.h — the one list of `convnet` commands: name, one-line summary, usage, details
 * (NULL or a paragraph). Each command is cmd_<name> in cmd_<name>.c. Adding a command: write
 * the file, add one line here. */
CLI_COMMAND(version, "print the version, the CPU features and the kernels in use", "[--json]",
            NULL)
CLI_COMMAND(inspect, "validate a file and print what it holds", "FILE [--json]",
            "Reads FILE completely with the same parser the rest of convnet uses and prints its format,\n"
            "dtype, shape and value statistics, or the precise reason it is invalid (exit 1).\n"
            "Understands: NumPy .npy.")
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
CLI_COMMAND(help, "show help for a command", "[COMMAND]",
            NULL)
CLI_COMMAND(train, "train a model on a dataset", "MODEL --data DATASET [options]",
            "Trains MODEL (a model file, or a weights file that carries its model) on DATASET with\n"
            "mini-batch SGD/Adam/AdamW and a learning-rate schedule, evaluating on the test (or\n"
            "--val-split) part after every epoch. With --out RUNDIR it writes log.jsonl, a\n"
            "checkpoint every epoch (atomically), and at the end weights.safetensors and metrics.json.\n"
            "--resume continues an interrupted run exactly (same seed and options). A model without\n"
            "a loss layer gets [softmax_cross_entropy] (class targets) or [mse].")
CLI_COMMAND(eval, "evaluate a trained model: loss, accuracy, per-class table, confusion", "MODEL [--weights W] --data DATASET",
            NULL)
CLI_COMMAND(predict, "top-k classes with probabilities for .npy inputs", "MODEL [--weights W] INPUT...",
            "Each INPUT is a .npy array holding one sample (the model input's shape) or several.")
CLI_COMMAND(experiment, "reproduce a published result: results table, JSON and plots", "NAME [--quick] [--out DIR]",
            "Without NAME, lists the experiments. Results go to runs/NAME (or --out): results.txt,\n"
            "results.json, and one run directory per trained model. docs/EXPERIMENTS.md has full runs.")
