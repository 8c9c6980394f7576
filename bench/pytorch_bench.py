#!/usr/bin/python3
"""PyTorch side of `convnet bench`: times the same convolutions and networks on the CPU.

Run by `convnet bench` with Debian's /usr/bin/python3 (python3-torch), in the same run as
convnet's own measurements, so the ratios compare like with like. Input: one JSON argument
(the spec convnet writes); output: one JSON object on stdout. Every time is the median of
`reps` timed repetitions after warm-up runs, in seconds.

Spec:
  {"threads": [1, 2], "reps": 7, "warmup": 2,
   "shapes": [{"name": "b", "n": 8, "ic": 64, "oc": 64, "h": 56, "w": 56,
               "k": 3, "s": 1, "p": 1, "groups": 1}, ...],
   "nets": ["mnist1d", "lenet5", "resnet18"]}

Conv shapes report "fwd" (forward) and "fwdbwd" (forward, then backward for the weights,
the bias and the input), both float32, NCHW, torch.no_grad() for the forward-only timing.
Networks: "train_step" (forward, loss, backward, SGD step), "infer" (forward of the batch),
"latency" (forward of one sample); with the batch sizes the issue's PyTorch figures used.
"""
import json
import os
import statistics
import sys
import time


def main():
    spec = json.loads(sys.argv[1])
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except Exception as e:  # noqa: BLE001 - any import failure means "no PyTorch"
        print(json.dumps({"error": "torch unavailable: %s" % e}))
        return
    reps, warmup = int(spec.get("reps", 7)), int(spec.get("warmup", 2))
    torch.manual_seed(0)

    def median_time(fn, r=reps, w=warmup):
        for _ in range(w):
            fn()
        ts = []
        for _ in range(r):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    out = {"torch": torch.__version__, "mkldnn": bool(torch.backends.mkldnn.is_available()), "shapes": [], "nets": []}
    for threads in spec["threads"]:
        torch.set_num_threads(threads)
        for s in spec["shapes"]:
            x = torch.randn(s["n"], s["ic"], s["h"], s["w"])
            conv = nn.Conv2d(s["ic"], s["oc"], s["k"], stride=s["s"], padding=s["p"], groups=s["groups"], bias=True)

            def fwd():
                with torch.no_grad():
                    conv(x)

            xg = x.clone().requires_grad_(True)
            with torch.no_grad():
                dy = torch.randn_like(conv(x))

            def fwdbwd():
                conv.zero_grad(set_to_none=False)
                xg.grad = None
                y = conv(xg)
                y.backward(dy)

            out["shapes"].append({"name": s["name"], "threads": threads, "fwd": median_time(fwd),
                                  "fwdbwd": median_time(fwdbwd)})
        for name in spec.get("nets", []):
            out["nets"].extend(bench_net(torch, nn, F, name, threads, median_time))
    print(json.dumps(out))


def mnist1d_conv(nn):
    # Prince, Understanding Deep Learning 10.2.7: three Conv1d(15, k3, s2) + ReLU, dense 60 -> 10
    return nn.Sequential(nn.Conv1d(1, 15, 3, 2), nn.ReLU(), nn.Conv1d(15, 15, 3, 2), nn.ReLU(),
                         nn.Conv1d(15, 15, 3, 2), nn.ReLU(), nn.Flatten(), nn.Linear(60, 10))


def lenet5(nn):
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(),
                         nn.AvgPool2d(2), nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(), nn.Linear(120, 84),
                         nn.Tanh(), nn.Linear(84, 10))


def resnet18(nn):
    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.short = None
            if stride != 1 or cin != cout:
                self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = self.b2(self.c2(self.b1(self.c1(x)).relu()))
            return (y + (x if self.short is None else self.short(x))).relu()

    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        layers += [Block(cin, cout, stride), Block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000)]
    return nn.Sequential(*layers)


def bench_net(torch, nn, F, name, threads, median_time):
    if name == "mnist1d":
        model, shape, classes, train_batch, infer_batch = mnist1d_conv(nn), (1, 40), 10, 100, 100
    elif name == "lenet5":
        model, shape, classes, train_batch, infer_batch = lenet5(nn), (1, 28, 28), 10, 64, 64
    elif name == "resnet18":
        model, shape, classes, train_batch, infer_batch = resnet18(nn), (3, 224, 224), 1000, 8, 8
    else:
        return []
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(train_batch, *shape)
    t = torch.randint(0, classes, (train_batch,))

    def step():
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(x), t)
        loss.backward()
        opt.step()

    heavy = name == "resnet18"
    res = []
    model.train()
    ts = median_time(step, r=3 if heavy else 20, w=1 if heavy else 3)
    res.append({"net": name, "threads": threads, "what": "train_step", "batch": train_batch, "time": ts})
    model.eval()
    xi = torch.randn(infer_batch, *shape)
    x1 = torch.randn(1, *shape)

    def infer():
        with torch.no_grad():
            model(xi)

    def latency():
        with torch.no_grad():
            model(x1)

    res.append({"net": name, "threads": threads, "what": "infer", "batch": infer_batch,
                "time": median_time(infer, r=3 if heavy else 20, w=1 if heavy else 3)})
    res.append({"net": name, "threads": threads, "what": "latency", "batch": 1,
                "time": median_time(latency, r=5 if heavy else 200, w=2 if heavy else 20)})
    return res


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
