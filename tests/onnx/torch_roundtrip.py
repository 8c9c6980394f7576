#!/usr/bin/python3
"""torch_roundtrip.py OUTDIR [SEED] — the PyTorch round trip (tests/cli/test_onnx.sh runs it):
builds a small ResNet-style network in PyTorch (a stem, two residual stages with batch norm and
a strided projection shortcut, global average pooling, a linear classifier) with random weights
and random batch-norm statistics, exports it with torch.onnx, and writes it as an ONNX backend
test case: OUTDIR/model.onnx and OUTDIR/test_data_set_{0,1}/input_0.pb, output_0.pb (random
inputs, PyTorch's outputs). `convnet onnx-test OUTDIR --rtol 0 --atol 1e-4` then checks that
convnet's import reproduces PyTorch to a max abs difference below 1e-4.
Exits 77 when torch or onnx is missing (the caller reports a skip)."""
import os
import sys

try:
    import numpy as np
    import onnx
    import torch
    from onnx import numpy_helper
except ImportError as e:
    print("skip: %s" % e)
    sys.exit(77)


class Basic(torch.nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = torch.nn.BatchNorm2d(cout)
        self.c2 = torch.nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = torch.nn.BatchNorm2d(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = torch.nn.Sequential(torch.nn.Conv2d(cin, cout, 1, stride, bias=False), torch.nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return torch.relu(y + (x if self.proj is None else self.proj(x)))


class TinyResNet(torch.nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, 1, 1, bias=False), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
                                        torch.nn.MaxPool2d(3, 2, 1))
        self.layer1 = torch.nn.Sequential(Basic(16, 16, 1), Basic(16, 16, 1))
        self.layer2 = torch.nn.Sequential(Basic(16, 32, 2), Basic(32, 32, 1))
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(32, classes)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def main():
    out = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    torch.manual_seed(seed)
    net = TinyResNet().eval()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    os.makedirs(out, exist_ok=True)
    x0 = torch.randn(4, 3, 32, 32)
    torch.onnx.export(net, x0, os.path.join(out, "model.onnx"), opset_version=13, input_names=["image"], output_names=["logits"])
    onnx.checker.check_model(onnx.load(os.path.join(out, "model.onnx")))
    for k in range(2):
        x = x0 if k == 0 else torch.randn(4, 3, 32, 32) * 2
        with torch.no_grad():
            y = net(x)
        d = os.path.join(out, "test_data_set_%d" % k)
        os.makedirs(d, exist_ok=True)
        for name, t in (("input_0", x), ("output_0", y)):
            with open(os.path.join(d, name + ".pb"), "wb") as f:
                f.write(numpy_helper.from_array(t.numpy().astype(np.float32), name).SerializeToString())
    print("wrote %s: TinyResNet (%d parameters), 2 data sets of 4 images" % (out, sum(p.numel() for p in net.parameters())))


if __name__ == "__main__":
    main()
