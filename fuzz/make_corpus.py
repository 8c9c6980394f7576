#!/usr/bin/python3
"""Writes the fuzz seed corpora under fuzz/corpus/<target>/ and the libFuzzer dictionaries
fuzz/fuzz_<target>.dict. Run with Debian's Python from the repository root:

    /usr/bin/python3 fuzz/make_corpus.py [path/to/convnet]

The outputs are committed; the fuzzers and tests never need Python. With the path of a built
`convnet`, the model dictionary gets every layer type, option name and enum choice from
`convnet layers --json`; without it, the committed dictionary is kept.

Seeds are small valid files that together reach every branch a parser has (every dtype,
version, endianness; every layer type; every IDX type code, plain and gzip), plus a few
invalid ones named bad-*, which the parser must reject (tests/unit/test_fuzz_regressions.c
checks both: seeds named bad-* are rejected, all others accepted).

  npy          NumPy-written arrays: float16/32/64, (u)int8..64, bool, big-endian, format
               versions 1, 2 and 3, 0-d, empty, 5-d
  safetensors  one tensor per dtype with metadata; a convnet model with its weights in one
               file (the self-describing format), an empty file ({}), PyTorch-style padding
  model        one model per family of layer types, together using every type
  idx          byte 0 is the mode of fuzz_idx.c (0: the bytes as they are, 1: gzip them
               first, 3: two gzip members), then an IDX file; every type code; a raw gzip file
  image        PNG (RGB, gray, RGBA, palette, 16-bit), JPEG (baseline, progressive), BMP, GIF,
               PGM, PPM, TGA written by Pillow; byte 0 asks for 0..4 channels
  npz          numpy.savez and savez_compressed archives
  onnx         models exported by `convnet export` and ONNX's backend test models
               (/usr/share/libonnx-testdata) that import without bound inputs
  onnx_tensor  TensorProto inputs of those test cases
  darknet      small cfgs using every section, Debian darknet's cfgs (/usr/share/darknet/cfg)
               at 32x32, and cfgs followed by a NUL and the zero weights they need
  checkpoint   checkpoints written by `convnet train` (SGD with momentum, Adam; at an epoch's
               end and mid-epoch), and edited ones: state fields missing or of the wrong type
               (rejected), a history entry without "epoch"
"""
import gzip
import io
import json
import os
import struct
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def out(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pending(target, name, data):
    """An input that shows a bug not fixed yet (in a file the fuzz harness does not own):
    tests/fuzz_regressions/pending/<target>/, which the replay test skips. Once fixed, move
    it to tests/fuzz_regressions/<target>/ (replayed in every build)."""
    d = os.path.join(ROOT, "tests", "fuzz_regressions", "pending", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def regression(target, name, data):
    """An input replayed in every build: tests/fuzz_regressions/<target>/."""
    d = os.path.join(ROOT, "tests", "fuzz_regressions", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def clean(target):
    d = os.path.join(CORPUS, target)
    if os.path.isdir(d):
        for n in os.listdir(d):
            os.remove(os.path.join(d, n))


# ---- npy --------------------------------------------------------------------------------
def npy_bytes(a, version=None):
    f = io.BytesIO()
    if version is None:
        np.save(f, a)
    else:
        np.lib.format.write_array(f, a, version=version)
    return f.getvalue()


def make_npy():
    clean("npy")
    ar = np.arange(-3, 3)
    out("npy", "f32_2x3.npy", npy_bytes(ar.astype("<f4").reshape(2, 3)))
    out("npy", "f64_be_4.npy", npy_bytes(np.arange(-3, 1).astype(">f8")))
    out("npy", "f16_5.npy", npy_bytes(np.array([1, -2, 0.5, 65504, 2**-24], dtype="<f2")))
    out("npy", "i8_4.npy", npy_bytes(np.array([-128, 0, 1, 127], dtype="i1")))
    out("npy", "u8_1x1x2x3x2.npy", npy_bytes(np.arange(12, dtype="u1").reshape(1, 1, 2, 3, 2)))
    out("npy", "i16_be_3.npy", npy_bytes(np.array([-32768, 0, 32767], dtype=">i2")))
    out("npy", "u16_3.npy", npy_bytes(np.array([0, 1, 65535], dtype="<u2")))
    out("npy", "i32_2x2.npy", npy_bytes(np.array([[-5, 0], [5, 2147483647]], dtype="<i4")))
    out("npy", "u32_be_2.npy", npy_bytes(np.array([0, 4294967295], dtype=">u4")))
    out("npy", "i64_2x2x2.npy", npy_bytes(np.arange(-3, 5, dtype="<i8").reshape(2, 2, 2)))
    out("npy", "u64_2.npy", npy_bytes(np.array([1, 2**64 - 1], dtype="<u8")))
    out("npy", "bool_5.npy", npy_bytes(np.array([True, False, True, True, False])))
    out("npy", "scalar_f32.npy", npy_bytes(np.array(2.5, dtype="<f4")))
    out("npy", "empty_0x3.npy", npy_bytes(np.zeros((0, 3), dtype="<f4")))
    out("npy", "v2_f32_3x2.npy", npy_bytes(np.ones((3, 2), dtype="<f4"), version=(2, 0)))
    out("npy", "v3_i8_2.npy", npy_bytes(np.array([1, -1], dtype="i1"), version=(3, 0)))
    # Python 2 style header: long integers ("3L") and double quotes, written by hand
    hdr = b"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3L,), }"
    hdr += b" " * (63 - (10 + len(hdr)) % 64) + b"\n"
    out("npy", "py2_long_3.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + np.ones(3, "<f4").tobytes())
    # invalid: Fortran order, truncated data, unknown key, shape overflowing 64 bits
    out("npy", "bad-fortran_2x3.npy", npy_bytes(np.asfortranarray(np.ones((2, 3), dtype="<f4"))))
    out("npy", "bad-truncated.npy", npy_bytes(np.ones((4, 4), dtype="<f4"))[:-5])
    h = b"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }"
    h += b" " * (63 - (10 + len(h)) % 64) + b"\n"
    out("npy", "bad-overflow.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h)
    h = b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1, }"
    h += b" " * (63 - (10 + len(h)) % 64) + b"\n"
    out("npy", "bad-unknown_key.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + b"\0" * 8)
    # npy.c (fixed in e74225b): a dimension just above INT64_MAX passed the overflow check and
    # became negative; a dtype with trailing characters was accepted
    h = b"{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775809, 0), }"
    h += b" " * (63 - (10 + len(h)) % 64) + b"\n"
    regression("npy", "negative_dim.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h)
    h = b"{'descr': '<f4x', 'fortran_order': False, 'shape': (2,), }"
    h += b" " * (63 - (10 + len(h)) % 64) + b"\n"
    regression("npy", "descr_trailing.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + b"\0" * 8)


# ---- safetensors ------------------------------------------------------------------------
def st_bytes(tensors, metadata=None, pad=0):
    """tensors: list of (name, dtype, shape, raw bytes), laid out in list order."""
    header, off, blob = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blob += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * pad
    return struct.pack("<Q", len(text)) + text + blob


def make_safetensors():
    clean("safetensors")
    ar6 = np.arange(-3, 3)
    out("safetensors", "dtypes.safetensors", st_bytes([
        ("f64", "F64", [2], np.array([0.5, -1e10], "<f8").tobytes()),
        ("i64", "I64", [2], np.array([-1, 2**40], "<i8").tobytes()),
        ("u64", "U64", [1], np.array([2**63 + 5], "<u8").tobytes()),
        ("f32", "F32", [2, 3], ar6.astype("<f4").tobytes()),
        ("i32", "I32", [2], np.array([-5, 7], "<i4").tobytes()),
        ("u32", "U32", [1], np.array([4294967295], "<u4").tobytes()),
        ("f16", "F16", [3], np.array([1, -2, 65504], "<f2").tobytes()),
        ("bf16", "BF16", [2], bytes([0xc0, 0x3f, 0x40, 0xc0])),
        ("i16", "I16", [2], np.array([-32768, 32767], "<i2").tobytes()),
        ("u16", "U16", [1], np.array([65535], "<u2").tobytes()),
        ("i8", "I8", [3], np.array([-128, 0, 127], "i1").tobytes()),
        ("u8", "U8", [], bytes([200])),
        ("bool", "BOOL", [2], bytes([1, 0])),
        ("f8a", "F8_E4M3", [2], bytes([0x38, 0x7f])),
        ("f8b", "F8_E5M2", [2], bytes([0x3c, 0x7c])),
        ("empty", "F32", [0, 4], b""),
    ], metadata={"format": "pt", "note": "h\u00e9llo"}))
    out("safetensors", "empty.safetensors", st_bytes([]))
    out("safetensors", "padded.safetensors", st_bytes([("x", "F32", [1], b"\0\0\x80\x3f")], pad=13))
    # a convnet model with its weights: conv (2x1x3x3 + 2) -> relu -> dense (3 x 2*2*2 + 3)
    model = ("[input]\nname = x\nshape = 1x4x4\n\n[conv]\nname = c1\nfilters = 2\nkernel = 3\n\n"
             "[act]\nname = r\nkind = relu\n\n[flatten]\nname = f\n\n[dense]\nname = d\nunits = 3\n")
    rng = np.random.default_rng(0)
    w = lambda *s: rng.uniform(-1, 1, s).astype("<f4").tobytes()
    params = [("c1.weight", "F32", [2, 1, 3, 3], w(2, 1, 3, 3)), ("c1.bias", "F32", [2], w(2)),
              ("d.weight", "F32", [3, 8], w(3, 8)), ("d.bias", "F32", [3], w(3))]
    out("safetensors", "model_weights.safetensors", st_bytes(params, metadata={"convnet.model": model}))
    # the same weights as float16 and bfloat16 (loaders convert any float dtype)
    half = [(n, "F16", s, np.frombuffer(r, "<f4").astype("<f2").tobytes()) for n, _, s, r in params]
    out("safetensors", "model_weights_f16.safetensors", st_bytes(half, metadata={"convnet.model": model}))
    # PyTorch-made files from the safetensors fixtures (data in reverse order, wide padding)
    fx = os.path.join(ROOT, "tests", "fixtures", "safetensors")
    for n in ("python_dtypes.safetensors", "torch_conv.safetensors"):
        with open(os.path.join(fx, n), "rb") as f:
            out("safetensors", n, f.read())
    # invalid: overlapping tensors, a gap, a header size past the end, trailing bytes
    h = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}
    t = json.dumps(h).encode()
    out("safetensors", "bad-overlap.safetensors", struct.pack("<Q", len(t)) + t + b"\0" * 8)
    out("safetensors", "bad-header_size.safetensors", struct.pack("<Q", 1 << 40) + b"{}")
    out("safetensors", "bad-trailing.safetensors", st_bytes([("x", "F32", [1], b"\0" * 4)]) + b"\0")
    out("safetensors", "bad-shape_mismatch.safetensors",
        st_bytes([("x", "F32", [3], b"\0" * 8)]))


# ---- model text -------------------------------------------------------------------------
MODELS = {
    "lenet.cfg": """# a LeNet-style classifier
[input]
name = image
shape = 1x12x12

[conv]
name = c1
filters = 4
kernel = 3
padding = same

[batch_norm]
[act]
kind = relu

[max_pool]
kernel = 2

[conv]
name = c2
filters = 6
kernel = 3x2
stride = 1,2
dilation = 1
init = xavier_uniform

[act]
kind = leaky_relu
slope = 0.1

[global_avg_pool]
[flatten]
[dropout]
p = 0.25

[dense]
units = 10
init = he_uniform

[softmax_cross_entropy]
label_smoothing = 0.1
""",
    "residual.cfg": """; residual block, concatenation, normalizations
[input]
name = x
shape = 4x8x8

[conv]
name = a
filters = 4
kernel = 3
padding = 1
groups = 2
pad_mode = reflect

[group_norm]
name = gn
groups = 2

[prelu]
name = pr

[add]
name = sum
inputs = x, pr

[instance_norm]
name = in1

[lrn]
name = lrn1
size = 3

[concat]
name = cat
input = sum, lrn1
axis = 1

[act]
kind = gelu
approximate = true

[conv]
filters = 2
kernel = 1
bias = false

[mse]
""",
    "conv1d.cfg": """[input]
shape = 2x16

[conv]
filters = 3
kernel = 5
padding = 2,1
flip = true

[avg_pool]
kernel = 2
ceil_mode = true

[lp_pool]
kernel = 2
p = 3

[upsample]
scale = 2
mode = linear

[pad]
padding = 1,2
mode = replicate

[act]
kind = clip
lo = -1
hi = 1

[l1]
""",
    "conv3d.cfg": """[input]
shape = 2x4x6x6

[conv]
filters = 4
kernel = 3
padding = same_lower
dims = 3

[conv_transpose]
filters = 2
kernel = 2
stride = 2
output_padding = 1

[separable_conv]
filters = 3
kernel = 3
multiplier = 2
depthwise_bias = true

[subsample]
kernel = 2

[act]
kind = sigmoid

[bce_with_logits]
""",
    "unshared.cfg": """[input]
shape = 2x8x8

[locally_connected]
filters = 2
kernel = 3

[tiled_conv]
filters = 2
kernel = 2
tile = 2

[stochastic_pool]
kernel = 2

[fractional_max_pool]
output_size = 1
""",
    "unpool.cfg": """[input]
name = x
shape = 4x8x8

[max_pool]
name = p1
kernel = 2
keep_indices = true

[act]
name = r
kind = elu

[max_unpool]
name = up
inputs = r, p1

[space_to_depth]
block = 2

[pixel_shuffle]
block = 2

[softmax]
axis = 1

[log_softmax]
""",
    "dense_only.cfg": """[input]
shape = 6

[dense]
units = 4

[act]
kind = softplus
beta = 2

[dense]
units = 2
bias = false

[act]
kind = hard_swish
""",
    # parses, fails at plan: a cycle, a kernel larger than its input
    "cycle.cfg": """[input]
name = x
shape = 1x4x4
[add]
name = a
inputs = x, b
[add]
name = b
inputs = x, a
""",
    "too_small.cfg": """[input]
shape = 1x2x2
[conv]
filters = 1
kernel = 5
""",
    "bad-unknown_option.cfg": "[input]\nshape = 1x4x4\n[conv]\nfilters = 2\nkernel = 3\nstrde = 2\n",
    "bad-unknown_type.cfg": "[input]\nshape = 3\n[convv]\n",
    "bad-no_layers.cfg": "# nothing but a comment\n",
}


def option_value(o):
    """a plausible value for an option, from `convnet layers TYPE --json`"""
    choices = o.get("choices") or []
    if isinstance(choices, str):
        choices = choices.split("|")
    if choices:
        return choices[0]
    return {"int": "2", "ints": "2", "float": "0.5", "floats": "0.5", "bool": "true", "padding": "1",
            "shape": "2x8x8", "string": "x"}.get(o["type"], "2")


def make_model(convnet):
    clean("model")
    for name, text in MODELS.items():
        out("model", name, text)
    if not convnet:
        return
    # every layer type the seeds above do not use gets a generated model that convnet accepts
    # (parses and plans), with its required options set to plausible values
    used = set()
    for text in MODELS.values():
        used.update(line.strip()[1:-1] for line in text.splitlines() if line.strip().startswith("["))
    info = json.loads(subprocess.check_output([convnet, "layers", "--json"]))
    tmp = os.path.join(CORPUS, "model", ".probe.cfg")
    for layer in info["layers"]:
        t = layer["name"]
        if t in used:
            continue
        detail = json.loads(subprocess.check_output([convnet, "layers", t, "--json"]))
        opts = "".join("%s = %s\n" % (o["name"], option_value(o)) for o in detail.get("options", []) if o.get("required"))
        lo = detail.get("inputs", [1, 1])[0]
        found = False
        for shape in ("2x8x8", "2x16", "6", "2x4x6x6"):
            ins = "inputs = %s\n" % ", ".join(["x"] * lo) if lo > 1 else ""
            text = "[input]\nname = x\nshape = %s\n\n[%s]\n%s%s" % (shape, t, ins, opts)
            with open(tmp, "w") as f:
                f.write(text)
            if subprocess.run([convnet, "inspect", tmp], capture_output=True).returncode == 0:
                out("model", "gen_%s.cfg" % t, text)
                found = True
                break
        if not found:
            print("make_corpus: no generated seed for layer type '%s' (write one by hand)" % t, file=sys.stderr)
    os.remove(tmp)


# ---- idx --------------------------------------------------------------------------------
def idx_bytes(code, dims, values):
    fmt = {0x08: "B", 0x09: "b", 0x0B: ">h", 0x0C: ">i", 0x0D: ">f", 0x0E: ">d"}[code]
    raw = np.array(values, dtype=fmt.replace("B", "u1").replace("b", "i1")).tobytes()
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + raw


def make_idx():
    clean("idx")
    out("idx", "labels_u8", b"\0" + idx_bytes(0x08, [5], [0, 1, 2, 9, 255]))
    out("idx", "images_u8", b"\0" + idx_bytes(0x08, [2, 3, 3], list(range(18))))
    out("idx", "i8", b"\0" + idx_bytes(0x09, [3], [-128, 0, 127]))
    out("idx", "i16_2x2", b"\0" + idx_bytes(0x0B, [2, 2], [-32768, -1, 0, 32767]))
    out("idx", "i32", b"\0" + idx_bytes(0x0C, [2], [-5, 2147483647]))
    out("idx", "f32_1x1x2", b"\0" + idx_bytes(0x0D, [1, 1, 2], [0.5, -1e30]))
    out("idx", "f64", b"\0" + idx_bytes(0x0E, [2], [0.1, -2.5]))
    out("idx", "gz_images", b"\x01" + idx_bytes(0x08, [2, 2, 2], list(range(8))))
    out("idx", "gz_two_members", b"\x03" + idx_bytes(0x0B, [3], [1, 2, 3]))
    out("idx", "raw_gzip", b"\0" + gzip.compress(idx_bytes(0x08, [4], [1, 2, 3, 4]), mtime=0))
    out("idx", "bad-truncated", b"\0" + idx_bytes(0x08, [4, 4], list(range(16)))[:-3])
    out("idx", "bad-type", b"\0" + bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 0]))
    out("idx", "bad-zero_dim", b"\0" + bytes([0, 0, 0x08, 2, 0, 0, 0, 0, 0, 0, 0, 1]))
    out("idx", "bad-huge", b"\0" + bytes([0, 0, 0x0E, 3]) + b"\xff\xff\xff\xff" * 3)
    out("idx", "bad-gzip_trailing", b"\x05" + idx_bytes(0x08, [2], [1, 2]))
    out("idx", "bad-gzip_truncated", b"\0" + gzip.compress(idx_bytes(0x08, [64], list(range(64))), mtime=0)[:-6])


# ---- checkpoints ------------------------------------------------------------------------
TINY = "[input]\nname = x\nshape = 1x40\n\n[conv]\nname = c1\nfilters = 2\nkernel = 5\nstride = 4\n\n[act]\nkind = relu\n\n[flatten]\n[dense]\nname = d\nunits = 10\n"


def st_parse(b):
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def st_rewrite(b, edit):
    """re-serialise a safetensors file after edit(header) changed its metadata"""
    header, data = st_parse(b)
    edit(header)
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


def make_checkpoint(convnet):
    if not convnet:
        return
    clean("checkpoint")
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "tiny.cfg")
        with open(cfg, "w") as f:
            f.write(TINY)
        runs = {"sgd_momentum": ["--optimizer", "sgd", "--momentum", "0.9", "--steps", "2"],
                "adam_midepoch": ["--optimizer", "adam", "--amsgrad", "--steps", "3", "--checkpoint-steps", "1"]}
        for name, args in runs.items():
            out_dir = os.path.join(tmp, name)
            subprocess.run([convnet, "train", cfg, "--data", "mnist1d", "--epochs", "1", "--batch", "8", "--out", out_dir] + args,
                           check=True, capture_output=True)
            with open(os.path.join(out_dir, "checkpoint.safetensors"), "rb") as f:
                out("checkpoint", name + ".safetensors", f.read())
        with open(os.path.join(CORPUS, "checkpoint", "sgd_momentum.safetensors"), "rb") as f:
            good = f.read()

    def state_edit(fn):
        def edit(h):
            s = json.loads(h["__metadata__"]["convnet.checkpoint"])
            fn(s)
            h["__metadata__"]["convnet.checkpoint"] = json.dumps(s)
        return edit
    # runlog.c (fixed in e74225b) converted a missing history "epoch" (NaN) and a huge "step"
    # to int64_t: undefined
    regression("checkpoint", "history_nan_epoch.safetensors",
            st_rewrite(good, state_edit(lambda s: s["history"].append({"step": 1}))))
    regression("checkpoint", "history_huge_step.safetensors",
            st_rewrite(good, state_edit(lambda s: s["history"].append({"epoch": 1, "step": 1e300}))))
    out("checkpoint", "history_extra_fields.safetensors",
        st_rewrite(good, state_edit(lambda s: s["history"].append({"epoch": 2, "step": 5, "lr": 0.5, "note": "x"}))))
    out("checkpoint", "bad-missing_step.safetensors", st_rewrite(good, state_edit(lambda s: s.pop("step"))))
    out("checkpoint", "bad-seed_number.safetensors", st_rewrite(good, state_edit(lambda s: s.update(seed=3))))
    out("checkpoint", "bad-negative_epoch.safetensors", st_rewrite(good, state_edit(lambda s: s.update(epoch=-1))))
    out("checkpoint", "bad-state_not_json.safetensors",
        st_rewrite(good, lambda h: h["__metadata__"].update({"convnet.checkpoint": "{epoch: 1"})))


# ---- images, .npz, ONNX, Darknet -----------------------------------------------------------
def accepted(convnet, data, suffix="", extra=()):
    """whether `convnet inspect` accepts these bytes as a file (named with `suffix`)"""
    import tempfile
    with tempfile.NamedTemporaryFile(suffix=suffix) as f:
        f.write(data)
        f.flush()
        return subprocess.run([convnet, "inspect", f.name] + list(extra), capture_output=True).returncode == 0


def make_image():
    from PIL import Image
    clean("image")
    rng = np.random.default_rng(1)
    rgb = Image.fromarray(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8), "RGB")
    gray = rgb.convert("L")

    def enc(img, fmt, **kw):
        f = io.BytesIO()
        img.save(f, fmt, **kw)
        return f.getvalue()
    out("image", "rgb.png", b"\0" + enc(rgb, "PNG"))
    out("image", "gray_as_rgb.png", b"\x03" + enc(gray, "PNG"))
    out("image", "rgba_as_gray.png", b"\x01" + enc(rgb.convert("RGBA"), "PNG"))
    out("image", "palette.png", b"\0" + enc(rgb.convert("P"), "PNG"))
    out("image", "gray16.png", b"\0" + enc(Image.fromarray(rng.integers(0, 65536, (3, 4), dtype=np.uint16)), "PNG"))
    out("image", "interlaced.png", b"\x04" + enc(rgb, "PNG", optimize=False))
    out("image", "baseline.jpg", b"\0" + enc(rgb, "JPEG", quality=80))
    out("image", "progressive.jpg", b"\x02" + enc(rgb, "JPEG", progressive=True))
    out("image", "gray.jpg", b"\0" + enc(gray, "JPEG"))
    out("image", "rgb.bmp", b"\0" + enc(rgb, "BMP"))
    out("image", "anim.gif", b"\0" + enc(rgb.convert("P"), "GIF"))
    out("image", "gray.pgm", b"\0" + enc(gray, "PPM"))
    out("image", "rgb.ppm", b"\0" + enc(rgb, "PPM"))
    out("image", "rgb.tga", b"\0" + enc(rgb, "TGA"))
    png = enc(rgb, "PNG")
    out("image", "bad-truncated.png", b"\0" + png[:len(png) // 2])
    # IHDR claims 100000 x 100000 (above the memory cap; CRC of the chunk fixed up)
    import zlib
    ihdr = b"IHDR" + struct.pack(">II", 100000, 100000) + png[24:29]
    out("image", "bad-huge.png", b"\0" + png[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + png[33:])
    out("image", "bad-not_image.txt", b"\0hello")


def make_npz():
    clean("npz")

    def npz(compressed, **arrays):
        f = io.BytesIO()
        (np.savez_compressed if compressed else np.savez)(f, **arrays)
        return f.getvalue()
    a = np.arange(6, dtype="<f4").reshape(2, 3)
    out("npz", "stored.npz", npz(False, x=a, y=np.array([1, 2], dtype="<i8")))
    out("npz", "deflated.npz", npz(True, x=a, labels=np.array([0, 9, 3], dtype="u1"), empty=np.zeros((0, 2), "<f4")))
    out("npz", "empty.npz", npz(False))
    good = npz(False, x=a)
    out("npz", "bad-truncated.npz", good[:len(good) - 30])
    out("npz", "bad-not_zip.npz", b"PK\x03\x04" + b"\0" * 20)


def make_onnx(convnet):
    if not convnet:
        return
    import tempfile
    clean("onnx")
    clean("onnx_tensor")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("lenet.cfg", "residual.cfg", "conv1d.cfg", "dense_only.cfg", "unpool.cfg"):
            cfg = os.path.join(tmp, name)
            with open(cfg, "w") as f:
                f.write(MODELS[name])
            dst = os.path.join(tmp, name.replace(".cfg", ".onnx"))
            if subprocess.run([convnet, "export", cfg, "--onnx", dst], capture_output=True).returncode == 0:
                with open(dst, "rb") as f:
                    out("onnx", "convnet_" + name.replace(".cfg", ".onnx"), f.read())
    node = "/usr/share/libonnx-testdata/data/node"
    if not os.path.isdir(node):
        return
    cases = ["test_relu", "test_softmax_axis_1", "test_maxpool_2d_pads", "test_averagepool_2d_pads", "test_add_bcast",
             "test_reshape_reordered_all_dims", "test_flatten_axis1", "test_transpose_default", "test_concat_2d_axis_0",
             "test_leakyrelu", "test_sigmoid", "test_globalaveragepool", "test_conv_with_strides_padding",
             "test_gemm_default_single_elem_vector_bias", "test_batchnorm_example", "test_cast_FLOAT_to_DOUBLE"]
    for c in cases:
        p = os.path.join(node, c, "model.onnx")
        if not os.path.exists(p):
            continue
        with open(p, "rb") as f:
            data = f.read()
        out("onnx", ("" if accepted(convnet, data, ".onnx") else "bad-") + c + ".onnx", data)
        for k in range(3):
            q = os.path.join(node, c, "test_data_set_0", "input_%d.pb" % k)
            if os.path.exists(q):
                with open(q, "rb") as f:
                    t = f.read()
                if len(t) <= 4096:
                    out("onnx_tensor", "%s_input_%d.pb" % (c[5:], k), t)
    # onnx_import.c (fold_node): a node whose first input is the empty name (an omitted
    # optional input) dereferences NULL for Identity, Cast, Slice, Transpose, ConstantOfShape
    try:
        import onnx
        from onnx import TensorProto, helper
        for op, attrs in [("Identity", {}), ("Cast", {"to": 1}), ("Slice", {}), ("Transpose", {}), ("ConstantOfShape", {})]:
            c = helper.make_node("Constant", [], ["c"], value=helper.make_tensor("v", TensorProto.FLOAT, [2], [1.0, 2.0]))
            n = helper.make_node(op, ["", "c"] if op == "Slice" else [""], ["y"], **attrs)
            g = helper.make_graph([c, n], "g", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
            regression("onnx", op + "_empty_input.onnx", m.SerializeToString())
    except ImportError:
        pass
    with open(os.path.join(CORPUS, "onnx", "test_relu.onnx"), "rb") as f:
        relu = f.read()
    out("onnx", "bad-truncated.onnx", relu[:len(relu) - 10])
    out("onnx_tensor", "bad-truncated.pb", open(os.path.join(node, "test_relu", "test_data_set_0", "input_0.pb"), "rb").read()[:-7])


DARKNET = {
    "small.cfg": "[net]\nheight=8\nwidth=8\nchannels=2\n[convolutional]\nbatch_normalize=1\nfilters=3\nsize=3\nstride=1\n"
                 "pad=1\nactivation=leaky\n[maxpool]\nsize=2\nstride=2\n[convolutional]\nfilters=4\nsize=1\nstride=1\n"
                 "pad=0\nactivation=linear\n[avgpool]\n[softmax]\ngroups=1\n",
    "route.cfg": "# routes and shortcuts\n[net]\nheight=8\nwidth=8\nchannels=3\n[convolutional]\nfilters=4\nsize=3\n"
                 "stride=1\npad=1\nactivation=relu\n[convolutional]\nfilters=4\nsize=3\nstride=1\npad=1\n"
                 "activation=logistic\n[shortcut]\nfrom=-2\nactivation=linear\n[route]\nlayers=-1,0\n[upsample]\n"
                 "stride=2\n[convolutional]\nfilters=2\nsize=1\nstride=2\npad=0\ngroups=2\nactivation=tanh\n"
                 "[dropout]\nprobability=0.5\n[connected]\noutput=3\nactivation=elu\n[cost]\n",
    "dense.cfg": "[net]\nheight=1\nwidth=1\nchannels=6\n[connected]\noutput=4\nactivation=selu\n[connected]\n"
                 "output=2\nactivation=linear\n[softmax]\n",
}


def make_darknet(convnet):
    if not convnet:
        return
    import re
    clean("darknet")
    dk = "/usr/share/darknet/cfg"
    cfgs = dict(DARKNET)
    for n in ("tiny.cfg", "yolov3-tiny.cfg", "yolov2-tiny.cfg", "cifar.cfg", "darknet.cfg"):
        p = os.path.join(dk, n)
        if os.path.exists(p):
            with open(p) as f:
                text = f.read()
            text = re.sub(r"(?m)^(height|width)\s*=\s*\d+", r"\1=32", text)
            cfgs["share_" + n] = text
    for name, text in cfgs.items():
        data = text.encode()
        out("darknet", name, data)
        # and with exactly the weights it needs (zeros; the count from convnet's own message)
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            cfg, w = os.path.join(tmp, "m.cfg"), os.path.join(tmp, "m.weights")
            with open(cfg, "wb") as f:
                f.write(data)
            with open(w, "wb") as f:
                f.write(struct.pack("<iiiQ", 0, 2, 0, 0))
            r = subprocess.run([convnet, "inspect", cfg, "--weights", w], capture_output=True, text=True)
            m = re.search(r"need (\d+)", r.stderr)
            if m and int(m.group(1)) * 4 <= 8192:
                out("darknet", name.replace(".cfg", "") + "+weights", data + b"\0" + struct.pack("<iiiQ", 0, 2, 0, 0) +
                    bytes(4 * int(m.group(1))))
    # darknet.c (ref_index): (int64_t) of a huge [route] layers value is undefined
    regression("darknet", "route_1e96.cfg", b"[net]\nheight=8\nwidth=8\nchannels=3\n[maxpool]\n[route]\nlayers=1e96\n")
    out("darknet", "bad-no_net.cfg", "[convolutional]\nfilters=2\n")
    out("darknet", "bad-section.cfg", "[net]\nheight=8\nwidth=8\nchannels=3\n[lstm]\n")


# ---- limits: inputs kept as regression tests -------------------------------------------
def make_limit_regressions():
    """Inputs from the limits review: sizes refused before allocating, recursion bounded."""
    # JSON nested 5000 deep: cJSON stops at its nesting limit (1000) instead of recursing on
    deep = b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}"
    regression("safetensors", "limit-deep_nesting.safetensors", struct.pack("<Q", len(deep)) + deep)
    # a shape whose byte size overflows 64 bits, and one far above the memory cap
    h = json.dumps({"a": {"dtype": "F64", "shape": [2**53, 2**53], "data_offsets": [0, 0]}}).encode()
    regression("safetensors", "limit-shape_overflow.safetensors", struct.pack("<Q", len(h)) + h)
    h = json.dumps({"a": {"dtype": "F32", "shape": [1 << 40], "data_offsets": [0, 1 << 42]}}).encode()
    regression("safetensors", "limit-offsets_past_end.safetensors", struct.pack("<Q", len(h)) + h)
    # a .npy header promising 2^40 floats with no data
    h = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"
    h += b" " * (63 - (10 + len(h)) % 64) + b"\n"
    regression("npy", "limit-huge_no_data.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h)
    # IDX: a gzip bomb (1000^3 bytes promised by a tiny stream) and a header above the cap
    regression("idx", "limit-gzip_bomb", b"\0" + gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">III", 1000, 1000, 1000)
                                                              + bytes(65536), mtime=0))
    regression("idx", "limit-above_cap", b"\0" + bytes([0, 0, 0x0E, 2]) + struct.pack(">II", 100000, 100000) + bytes(16))
    # a model of 1500 layers named in reverse order (every input a forward reference): the
    # topological sort is iterative and must reorder them all
    n = 1500
    text = "[input]\nname=l%d\nshape=2\n" % n
    for i in range(n - 1, -1, -1):
        text += "[act]\nname=l%d\ninput=l%d\nkind=relu\n" % (i, i + 1)
    assert len(text) <= 65536  # fuzz_model's limit
    regression("model", "limit-reverse_chain.cfg", text)


# ---- dictionaries -----------------------------------------------------------------------
def write_dict(name, words):
    """words are raw strings (characters below 256 = bytes); written in libFuzzer's syntax"""
    def esc(w):
        r = ""
        for ch in w:
            c = ord(ch)
            if ch in "\\\"":
                r += "\\" + ch
            elif 32 <= c < 127:
                r += ch
            else:
                r += "\\x%02x" % c
        return r
    with open(os.path.join(ROOT, "fuzz", name), "w") as f:
        f.write("# libFuzzer dictionary, written by fuzz/make_corpus.py\n")
        for w in sorted(set(words)):
            f.write('"%s"\n' % esc(w))


def make_dicts(convnet):
    write_dict("fuzz_npy.dict", ["\x93NUMPY", "descr", "fortran_order", "shape", "True", "False", "'<f4'", "'>f8'",
                                 "'|b1'", "'<i8'", "'<u2'", "'<f2'", "(", ")", ", ", "'", "{", "}", ": ", "L",
                                 "9223372036854775807", "9223372036854775808", "18446744073709551615", "4294967296",
                                 "0, ", "\x02\x00", "\x03\x00"])
    write_dict("fuzz_safetensors.dict", ["__metadata__", "dtype", "shape", "data_offsets", "convnet.model", "F32", "F64",
                                         "F16", "BF16", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL",
                                         "F8_E4M3", "F8_E5M2", "\\\"", "\\u0000", "\\n", "[0,0]", "{}", "[]", "9007199254740993"])
    write_dict("fuzz_checkpoint.dict", ["convnet.checkpoint", "convnet.model", "epoch", "batch", "step", "model_step",
                                        "optim_steps", "seed", "schedule", "lr", "best", "num_bad", "cooldown_counter",
                                        "last_epoch", "bad_epochs", "run_loss", "run_acc_hits", "run_count", "history",
                                        "train_loss", "val_acc", "optim.", ".momentum_buffer", ".exp_avg", ".exp_avg_sq",
                                        ".max_exp_avg_sq", "\\\"", "\\\"-inf\\\"", "1e300", "-1", "NaN", "F32",
                                        "data_offsets", "shape", "dtype"])
    if not convnet:
        return
    info = json.loads(subprocess.check_output([convnet, "layers", "--json"]))
    words = ["[", "]", " = ", "\n", "#", ";", "name", "input", "inputs", "same", "valid", "same_lower", "true", "false",
             "yes", "no", "x", ","]
    for layer in info["layers"]:
        words.append("[%s]" % layer["name"])
        detail = json.loads(subprocess.check_output([convnet, "layers", layer["name"], "--json"]))
        opts = detail.get("options", [])
        for o in opts:
            words.append(o["name"])
            choices = o.get("choices") or []
            words += choices.split("|") if isinstance(choices, str) else choices
    write_dict("fuzz_model.dict", words)


if __name__ == "__main__":
    make_npy()
    make_safetensors()
    convnet = sys.argv[1] if len(sys.argv) > 1 else None
    make_model(convnet)
    make_idx()
    make_checkpoint(convnet)
    make_image()
    make_npz()
    make_onnx(convnet)
    make_darknet(convnet)
    make_limit_regressions()
    make_dicts(convnet)
