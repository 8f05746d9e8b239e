"""PyTorch yardstick for bench/inference.ts.

Builds the original PhaseNet (the same layers as src/model/phasenet/architecture.ts: convolutions of
kernel 7 along time, batch norms, transposed convolutions, the skip crops, a 1x1 output convolution and
softmax) with random weights, and measures windows per second in eval mode under torch.no_grad, and the
GFLOP/s of a matrix product at the same thread count (torch.mm or, where that is faster, the same
product as a 1x1 convolution through oneDNN), as the bench asks: a worker of bench/workers.ts, one JSON
line each way on stdin and stdout. The layout, OpenBLAS's threads and malloc's settings decide most of
its speed; bench/README.md says how much each did, and the code below why it chose each.

Run with Debian's interpreter, which has torch: /usr/bin/python3 bench/pytorch_phasenet.py --threads 2
then e.g. {"op": "windows", "batch": 8, "seconds": 1} and {"op": "close"}.
"""

import argparse
import ctypes
import json
import os
import sys
import time
from contextlib import contextmanager

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

# mallopt(3) parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4


def same_padding(length, kernel, stride):
    """TensorFlow SAME: ceil(n / s) outputs, the smaller half of the padding before."""
    out = -(-length // stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return out, total // 2, total - total // 2


class Layout:
    """How the network lays out time. "1d": [batch, channels, time] with Conv1d, as PyTorch PhaseNets are
    written (SeisBench's is). "2d": [batch, channels, time, 1] with Conv2d (7, 1) kernels, as the
    TensorFlow original has them; oneDNN's convolution kernels block along the last (width) axis, which
    is then 1, so each convolution runs several times slower (bench/README.md has the numbers)."""

    def __init__(self, name):
        self.dims = 1 if name == "1d" else 2
        self.conv, self.deconv, self.norm = (
            (nn.Conv1d, nn.ConvTranspose1d, nn.BatchNorm1d)
            if self.dims == 1
            else (nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d)
        )

    def along_time(self, size, across):
        """A kernel size, stride or padding: `size` along time, `across` along the 2-D layout's unit axis."""
        return size if self.dims == 1 else (size, across)

    def time_padding(self, before, after):
        """F.pad's argument padding time only."""
        return (before, after) if self.dims == 1 else (0, 0, before, after)


class ConvBnRelu(nn.Module):
    """Conv of kernel 7 with TF SAME padding for an input of `length` samples, batch norm, ReLU."""

    def __init__(self, layout, cin, cout, stride, length, bias=False):
        super().__init__()
        self.out_length, before, after = same_padding(length, KERNEL, stride)
        # Symmetric padding goes into the convolution itself; TF's asymmetric strided case needs F.pad.
        self.pad = None if before == after else layout.time_padding(before, after)
        self.conv = layout.conv(
            cin,
            cout,
            layout.along_time(KERNEL, 1),
            stride=layout.along_time(stride, 1),
            padding=layout.along_time(before if before == after else 0, 0),
            bias=bias,
        )
        self.bn = layout.norm(cout, eps=BN_EPSILON)

    def forward(self, x):
        if self.pad is not None:
            x = F.pad(x, self.pad)
        return F.relu(self.bn(self.conv(x)))


class UpLevel(nn.Module):
    """Transposed conv stride 4 keeping [1 : 1 + 4n] (TF SAME), BN, ReLU, skip crop, concat, conv."""

    def __init__(self, layout, cin, cout, skip_length):
        super().__init__()
        self.deconv = layout.deconv(
            cin, cout, layout.along_time(KERNEL, 1), stride=layout.along_time(STRIDE, 1), bias=False
        )
        self.bn = layout.norm(cout, eps=BN_EPSILON)
        self.conv = ConvBnRelu(layout, 2 * cout, cout, 1, skip_length)
        self.skip_length = skip_length

    def forward(self, x, skip):
        n = x.shape[2]
        up = F.relu(self.bn(self.deconv(x)[:, :, 1 : 1 + STRIDE * n]))
        offset = (up.shape[2] - self.skip_length) // 2
        up = up[:, :, offset : offset + self.skip_length]
        return self.conv(torch.cat([skip, up], dim=1))


class PhaseNet(nn.Module):
    def __init__(self, layout, length=WINDOW):
        super().__init__()
        self.layout = layout
        filters = [ROOT_FILTERS * 2**d for d in range(DEPTH)]
        lengths = [length]
        for _ in range(1, DEPTH):
            lengths.append(same_padding(lengths[-1], KERNEL, STRIDE)[0])
        self.input = ConvBnRelu(layout, IN_CHANNELS, filters[0], 1, length, bias=True)
        self.down1 = nn.ModuleList(
            ConvBnRelu(layout, filters[d - 1] if d else filters[0], filters[d], 1, lengths[d])
            for d in range(DEPTH)
        )
        self.down3 = nn.ModuleList(
            ConvBnRelu(layout, filters[d], filters[d], STRIDE, lengths[d]) for d in range(DEPTH - 1)
        )
        self.up = nn.ModuleList(
            UpLevel(layout, filters[d + 1], filters[d], lengths[d]) for d in range(DEPTH - 2, -1, -1)
        )
        self.output = layout.conv(filters[0], CLASSES, 1, bias=True)

    def forward(self, x):
        """x [batch, 3, length, 1] -> class probabilities [batch, 3, length, 1], in either layout."""
        if self.layout.dims == 1:
            x = x.squeeze(3)
        x = self.input(x)
        skips = []
        for d in range(DEPTH):
            x = self.down1[d](x)
            skips.append(x)
            if d < DEPTH - 1:
                x = self.down3[d](x)
        for i, level in enumerate(self.up):
            x = level(x, skips[DEPTH - 2 - i])
        probs = torch.softmax(self.output(x), dim=1)
        return probs.unsqueeze(3) if self.layout.dims == 1 else probs


def randomise_batch_norms(model, generator):
    """Random moving statistics (positive variance), so that the network is not at its initial state."""
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            module.running_mean.normal_(0, 0.1, generator=generator)
            module.running_var.uniform_(0.5, 1.5, generator=generator)


def keep_freed_memory():
    """glibc returns large freed blocks to the kernel (mmap'd ones at once, the heap's top beyond 128 KiB),
    so every forward pass faults its ~10 MB of activations in afresh, zeroed by the kernel: a third of
    the time at batch 32. onnxruntime keeps an arena for the same reason; PyTorch's tuning guide
    suggests jemalloc or tcmalloc, which here do less well than this. Returns whether it applied."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, 1 << 30))


def loaded_openblas():
    """The OpenBLAS torch loaded (Debian's libblas.so.3 alternative), or None (e.g. the netlib one)."""
    try:
        return ctypes.CDLL("libopenblas.so.0", mode=os.RTLD_NOLOAD)
    except OSError:
        return None


@contextmanager
def blas_threads(openblas, threads):
    """Runs the block with OpenBLAS on `threads` threads, then on one. Debian's OpenBLAS is the pthreads
    build: its threads, which spin for a while after each call, are not torch's OpenMP threads but compete
    with them for the same cores, and the network's transposed convolutions (no oneDNN path in torch 1.13)
    call it once per window between oneDNN convolutions. With OpenBLAS on two threads the network runs at
    about two thirds of the rate it has with one, so only torch.mm, which runs alone, gets them all."""
    if openblas is not None:
        openblas.openblas_set_num_threads(threads)
    try:
        yield
    finally:
        if openblas is not None:
            openblas.openblas_set_num_threads(1)


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


def measure_training(model, command, generator, trainers={}):
    """Training steps as bench/train-worker.ts takes them (forward, cross-entropy against soft
    targets, backward, Adam) on a batch of random windows; windows per second."""
    batch = command["batch"]
    if batch not in trainers:
        if isinstance(model, torch.jit.ScriptModule):
            raise ValueError("a frozen (jit) model does not train: run the worker without --jit-freeze")
        x = torch.randn(batch, IN_CHANNELS, WINDOW, 1, generator=generator)
        y = torch.softmax(3 * torch.randn(batch, 3, WINDOW, 1, generator=generator), dim=1)
        trainers[batch] = (x, y, torch.optim.Adam(model.parameters(), lr=1e-4))
    x, y, optimizer = trainers[batch]

    def step():
        with torch.enable_grad():
            model.train()
            optimizer.zero_grad()
            probs = model(x)
            loss = -(y * torch.log(probs.clamp(min=1e-7))).sum(dim=1).mean()
            loss.backward()
            optimizer.step()
        return batch

    return measure_rate(step, command["seconds"], command.get("minCalls", 1))


def matrix_products(generator):
    """The ways PyTorch multiplies two matrices: torch.mm goes through the system BLAS (OpenBLAS if
    installed, else the reference netlib one); a 1x1 convolution is the same product through oneDNN,
    which the network's convolutions use. Returns {name: make_step(n)}."""

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


def serve(threads, layout, frozen):
    """Answers the bench's commands (bench/workers.ts), one JSON line each way."""
    kept_memory = keep_freed_memory()
    openblas = loaded_openblas()
    if openblas is not None:
        openblas.openblas_set_num_threads(1)
    # Debian's torch runs one thread unless told otherwise.
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    generator = torch.Generator().manual_seed(1)
    model = PhaseNet(layout).eval()
    randomise_batch_norms(model, generator)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    inputs = {}
    products = {}
    with torch.no_grad():
        example = torch.randn(1, IN_CHANNELS, WINDOW, 1, generator=generator)
        if frozen:
            model = torch.jit.freeze(torch.jit.trace(model, example))
        probs = model(example)
        with blas_threads(openblas, threads):
            peak_via = fastest_product(generator)
        settings = [
            f"torch {torch.__version__}",
            "jit.trace + jit.freeze" if frozen else "eager",
            "eval, no_grad",
            "Conv1d over [batch, 3, time]" if layout.dims == 1 else "Conv2d (7, 1) over [batch, 3, time, 1]",
            "OpenBLAS on 1 thread (torch.mm on all)" if openblas is not None else "system BLAS",
        ]
        if kept_memory:
            settings.append("malloc keeps freed memory")
        reply(
            {
                "ready": True,
                "engine": "pytorch",
                "detail": ", ".join(settings),
                "threads": torch.get_num_threads(),
                "trainableParameters": trainable,
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

                rate = measure_rate(step, command["seconds"], command.get("minCalls", 1))
            elif command["op"] == "train":
                rate = measure_training(model, command, generator)
            else:
                n = command["size"]
                if n not in products:
                    products[n] = matrix_products(generator)[peak_via](n)
                product = products[n]

                def step():
                    product()
                    return 2 * n**3

                with blas_threads(openblas, threads):
                    rate = measure_rate(step, command["seconds"], command.get("minCalls", 1))
            reply({"rate": rate})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--layout", choices=["1d", "2d"], default="1d", help="Conv1d over time, or TF's slower Conv2d (7, 1)"
    )
    parser.add_argument(
        "--jit-freeze", action="store_true", help="trace and freeze the model (folds the batch norms)"
    )
    args = parser.parse_args()
    serve(args.threads, Layout(args.layout), args.jit_freeze)


if __name__ == "__main__":
    main()
