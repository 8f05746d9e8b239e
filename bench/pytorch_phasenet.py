"""PyTorch yardstick for bench/inference.ts.

Builds the original PhaseNet (the same layers as src/model/phasenet/architecture.ts: 2-D convolutions
with kernel (7, 1) as the TensorFlow original has them, batch norms, transposed convolutions, the skip
crops, a 1x1 output convolution and softmax) with random weights, and measures windows per second in
eval mode under torch.no_grad, and the GFLOP/s of a matrix product at the same thread count (torch.mm
or, where that is faster, the same product as a 1x1 convolution through oneDNN), as the bench
asks: a worker of bench/workers.ts, one JSON line each way on stdin and stdout.

Run with Debian's interpreter, which has torch: /usr/bin/python3 bench/pytorch_phasenet.py --threads 2
then e.g. {"op": "windows", "batch": 8, "seconds": 1} and {"op": "close"}.
"""

import argparse
import json
import sys
import time

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as error:
    print(f"pytorch_phasenet: torch is not installed for {sys.executable} ({error})", file=sys.stderr)
    sys.exit(3)

WINDOW = 3000
IN_CHANNELS = 3
CLASSES = 3
DEPTH = 5
ROOT_FILTERS = 8
KERNEL = 7
STRIDE = 4
BN_EPSILON = 1e-3


def same_padding(length, kernel, stride):
    """TensorFlow SAME: ceil(n / s) outputs, the smaller half of the padding before."""
    out = -(-length // stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return out, total // 2, total - total // 2


class ConvBnRelu(nn.Module):
    """Conv (k, 1) with TF SAME padding for an input of `length` samples, batch norm, ReLU."""

    def __init__(self, cin, cout, stride, length, bias=False):
        super().__init__()
        self.out_length, before, after = same_padding(length, KERNEL, stride)
        # Symmetric padding goes into the convolution itself; TF's asymmetric strided case needs F.pad.
        self.pad = None if before == after else (0, 0, before, after)
        self.conv = nn.Conv2d(
            cin, cout, (KERNEL, 1), stride=(stride, 1), padding=(before, 0) if before == after else 0, bias=bias
        )
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPSILON)

    def forward(self, x):
        if self.pad is not None:
            x = F.pad(x, self.pad)
        return F.relu(self.bn(self.conv(x)))


class UpLevel(nn.Module):
    """Transposed conv (k, 1) stride 4 keeping [1 : 1 + 4n] (TF SAME), BN, ReLU, skip crop, concat, conv."""

    def __init__(self, cin, cout, skip_length):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(cin, cout, (KERNEL, 1), stride=(STRIDE, 1), bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPSILON)
        self.conv = ConvBnRelu(2 * cout, cout, 1, skip_length)
        self.skip_length = skip_length

    def forward(self, x, skip):
        n = x.shape[2]
        up = F.relu(self.bn(self.deconv(x)[:, :, 1 : 1 + STRIDE * n]))
        offset = (up.shape[2] - self.skip_length) // 2
        up = up[:, :, offset : offset + self.skip_length]
        return self.conv(torch.cat([skip, up], dim=1))


class PhaseNet(nn.Module):
    def __init__(self, length=WINDOW):
        super().__init__()
        filters = [ROOT_FILTERS * 2**d for d in range(DEPTH)]
        lengths = [length]
        for _ in range(1, DEPTH):
            lengths.append(same_padding(lengths[-1], KERNEL, STRIDE)[0])
        self.input = ConvBnRelu(IN_CHANNELS, filters[0], 1, length, bias=True)
        self.down1 = nn.ModuleList(
            ConvBnRelu(filters[d - 1] if d else filters[0], filters[d], 1, lengths[d]) for d in range(DEPTH)
        )
        self.down3 = nn.ModuleList(
            ConvBnRelu(filters[d], filters[d], STRIDE, lengths[d]) for d in range(DEPTH - 1)
        )
        self.up = nn.ModuleList(UpLevel(filters[d + 1], filters[d], lengths[d]) for d in range(DEPTH - 2, -1, -1))
        self.output = nn.Conv2d(filters[0], CLASSES, 1, bias=True)

    def forward(self, x):
        """x [batch, 3, length, 1] -> class probabilities [batch, 3, length, 1]."""
        x = self.input(x)
        skips = []
        for d in range(DEPTH):
            x = self.down1[d](x)
            skips.append(x)
            if d < DEPTH - 1:
                x = self.down3[d](x)
        for i, level in enumerate(self.up):
            x = level(x, skips[DEPTH - 2 - i])
        return torch.softmax(self.output(x), dim=1)


def randomise_batch_norms(model, generator):
    """Random moving statistics (positive variance), so that the network is not at its initial state."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1, generator=generator)
            module.running_var.uniform_(0.5, 1.5, generator=generator)


def measure_rate(step, seconds, min_calls=1):
    """The loop of bench/measure.ts measureRate: units per second over at least `seconds` and `min_calls`."""
    units = 0
    calls = 0
    start = time.perf_counter()
    while True:
        units += step()
        calls += 1
        elapsed = time.perf_counter() - start
        if calls >= min_calls and elapsed >= seconds:
            return units / elapsed


def matrix_products(generator):
    """The ways PyTorch multiplies two matrices: torch.mm goes through the system BLAS, which on Debian
    is the reference netlib one unless an optimized BLAS is installed; a 1x1 convolution is the same
    product through oneDNN, which the network's convolutions use. Returns {name: make_step(n)}."""

    def mm(n):
        a, b = torch.randn(n, n, generator=generator), torch.randn(n, n, generator=generator)
        return lambda: torch.mm(a, b)

    def conv1x1(n):
        # [1, n channels, n positions, 1] by n filters of [n, 1, 1]: an n x n x n product.
        x, w = torch.randn(1, n, n, 1, generator=generator), torch.randn(n, n, 1, 1, generator=generator)
        return lambda: F.conv2d(x, w)

    return {"torch.mm": mm, "1x1 conv2d": conv1x1}


def fastest_product(generator, n=512):
    """The faster way to multiply matrices here: the peak is what PyTorch can do at best."""
    timings = {}
    for name, make in matrix_products(generator).items():
        run = make(n)
        run()
        start = time.perf_counter()
        for _ in range(3):
            run()
        timings[name] = time.perf_counter() - start
    return min(timings, key=timings.get)


def reply(message):
    print(json.dumps(message), flush=True)


def serve(threads):
    """Answers the bench's commands (bench/workers.ts), one JSON line each way."""
    # Debian's torch runs one thread unless told otherwise.
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    generator = torch.Generator().manual_seed(1)
    model = PhaseNet().eval()
    randomise_batch_norms(model, generator)
    inputs = {}
    products = {}
    with torch.no_grad():
        probs = model(torch.randn(1, IN_CHANNELS, WINDOW, 1, generator=generator))
        peak_via = fastest_product(generator)
        reply(
            {
                "ready": True,
                "engine": "pytorch",
                "detail": f"torch {torch.__version__} eager, eval, no_grad, NCHW (7, 1) kernels",
                "threads": torch.get_num_threads(),
                "trainableParameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
                "outputShape": list(probs.shape),
                "outputSumsToOne": bool(torch.allclose(probs.sum(dim=1), torch.ones(()), atol=1e-5)),
                "peakVia": peak_via,
            }
        )
        for line in sys.stdin:
            command = json.loads(line)
            if command["op"] == "close":
                break
            if command["op"] == "windows":
                batch = command["batch"]
                if batch not in inputs:
                    inputs[batch] = torch.randn(batch, IN_CHANNELS, WINDOW, 1, generator=generator)
                x = inputs[batch]

                def step():
                    model(x)
                    return batch

            else:
                n = command["size"]
                if n not in products:
                    products[n] = matrix_products(generator)[peak_via](n)
                product = products[n]

                def step():
                    product()
                    return 2 * n**3

            reply({"rate": measure_rate(step, command["seconds"], command.get("minCalls", 1))})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    serve(parser.parse_args().threads)


if __name__ == "__main__":
    main()
