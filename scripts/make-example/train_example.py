#!/usr/bin/python3
"""Train PruneLens' small example CNN on Fashion-MNIST and export it to ONNX.

How to run (from the repository root, CPU only, ~5 minutes on 2 cores, 12 epochs of ~23 s):

    /usr/bin/python3 scripts/make-example/train_example.py

then check the exported model with onnxruntime-node:

    node scripts/make-example/check_example.mjs

Requirements: Debian packages python3-torch (1.13), python3-numpy, python3-onnx,
and the Fashion-MNIST IDX files under /usr/share/datasets/fashion-mnist/
(override with --data-dir). Use /usr/bin/python3 explicitly: another python3
on PATH may not see the Debian torch.

Outputs (all under examples/):
  fashion-cnn.onnx                          opset 13, input "input" [N,1,28,28]
                                            float32 (normalised), output "logits"
                                            [N,10]; BatchNormalization kept as
                                            separate (inference-mode) nodes.
  fashion-mnist-500-images-idx3-ubyte.gz    500 test images, raw uint8 0..255
  fashion-mnist-500-labels-idx1-ubyte.gz    their labels
  fashion-cnn.json                          model description, preprocessing,
                                            accuracies, regeneration command.

The 500 samples are class-balanced: for each class 0..9 the first 50 images of
that class in t10k order; the selected images are kept in their t10k order
(their t10k indices are listed in fashion-cnn.json).

Preprocessing expected by the model:  x = (pixel / 255 - MEAN) / STD  with the
MEAN/STD of the training set (computed here; ~0.2860 / ~0.3530).

Everything is seeded (python, numpy, torch) and run single-process on CPU with
deterministic algorithms, so reruns on the same machine/torch version give the
same weights.
"""

import argparse
import gzip
import json
import os
import random
import re
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20240601
CLASS_NAMES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
REGEN_COMMAND = "/usr/bin/python3 scripts/make-example/train_example.py"
CHECK_COMMAND = "node scripts/make-example/check_example.mjs"


# --------------------------------------------------------------------------- IDX I/O
def read_idx(path):
    """Parse a (gzipped) IDX file into a numpy uint8 array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file (magic {data[:4].hex()})")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: size mismatch {arr.size} vs {dims}")
    return arr.reshape(dims)


def write_idx_gz(path, arr):
    """Write a uint8 array as gzipped IDX (magic 0x00000800 | ndim)."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    # mtime=0 so the gzip bytes are reproducible
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(header)
            f.write(arr.tobytes())


# --------------------------------------------------------------------------- model
def conv_bn(cin, cout, k, stride=1, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    )


class ResidualBlock(nn.Module):
    """conv3x3+BN+ReLU -> conv3x3+BN -> Add(skip) -> ReLU."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = conv_bn(c, c, 3)
        self.conv2 = conv_bn(c, c, 3)

    def forward(self, x):
        y = F.relu(self.conv1(x))
        y = self.conv2(y)
        return F.relu(y + x)


class FashionCNN(nn.Module):
    """
    input  [N,1,28,28]
    stem   Conv3x3 1->16 + BN + ReLU                 -> [N,16,28,28]
    down1  Conv3x3 s2 16->32 + BN + ReLU             -> [N,32,14,14]
    res    ResidualBlock(32) (2x Conv3x3 32->32 + BN, Add, ReLU)
    dw     depthwise Conv3x3 (groups=32) + BN + ReLU -> [N,32,14,14]
    pw     pointwise Conv1x1 32->64 + BN + ReLU      -> [N,64,14,14]
    pool   MaxPool 2x2                               -> [N,64,7,7]
    down2  Conv3x3 s2 64->32 + BN + ReLU             -> [N,32,4,4]
    head   Flatten -> Linear 512->64 -> ReLU -> Linear 64->10
    """

    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = conv_bn(1, 16, 3)
        self.down1 = conv_bn(16, 32, 3, stride=2)
        self.res = ResidualBlock(32)
        self.dw = conv_bn(32, 32, 3, groups=32)
        self.pw = conv_bn(32, 64, 1)
        self.pool = nn.MaxPool2d(2)
        self.down2 = conv_bn(64, 32, 3, stride=2)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = F.relu(self.down1(x))
        x = self.res(x)
        x = F.relu(self.dw(x))
        x = F.relu(self.pw(x))
        x = self.pool(x)
        x = F.relu(self.down2(x))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


# --------------------------------------------------------------------------- helpers
def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def normalise(images_u8, mean, std):
    x = torch.from_numpy(images_u8.astype(np.float32) / 255.0)
    return ((x - mean) / std).unsqueeze(1)  # [N,1,28,28]


@torch.no_grad()
def predict(model, x, batch=1000):
    model.eval()
    return torch.cat([model(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])


def accuracy(pred, labels):
    return float((pred == torch.from_numpy(labels.astype(np.int64))).float().mean())


def balanced_indices(labels, per_class):
    idx = []
    for c in range(10):
        idx.extend(np.nonzero(labels == c)[0][:per_class].tolist())
    return np.array(sorted(idx), dtype=np.int64)


def dump_json(obj, path):
    """json.dump with indent=2, but flat lists of numbers/strings kept on one line."""
    text = json.dumps(obj, indent=2)
    text = re.sub(r"\[\s*((?:-?[0-9.e+-]+|\"[^\"\n]*\")(?:,\s*(?:-?[0-9.e+-]+|\"[^\"\n]*\"))*)\s*\]",
                  lambda mt: "[" + re.sub(r",\s*", ", ", mt.group(1)) + "]", text)
    with open(path, "w") as f:
        f.write(text + "\n")


def check_onnx_graph(path):
    """Verify BN nodes are preserved (1 output, inference) and weights are initializers."""
    import onnx

    m = onnx.load(path)
    onnx.checker.check_model(m)
    g = m.graph
    ops = {}
    for n in g.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    bns = [n for n in g.node if n.op_type == "BatchNormalization"]
    if len(bns) != 7:
        raise RuntimeError(f"expected 7 BatchNormalization nodes, found {len(bns)}: {ops}")
    for n in bns:
        if len([o for o in n.output if o]) != 1:
            raise RuntimeError(f"BatchNormalization {n.name} has training-mode outputs: {list(n.output)}")
        for a in n.attribute:
            if a.name == "training_mode" and a.i != 0:
                raise RuntimeError(f"BatchNormalization {n.name} has training_mode=1")
    if "Identity" in ops:
        raise RuntimeError(f"graph contains Identity nodes: {ops}")
    inits = {i.name for i in g.initializer}
    for n in g.node:
        if n.op_type in ("Conv", "Gemm", "BatchNormalization", "MatMul"):
            for name in n.input[1:]:
                if name and name not in inits:
                    raise RuntimeError(f"{n.op_type} {n.name}: input {name} is not an initializer")
    return m, ops


# --------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out-dir", default=os.path.join(REPO_ROOT, "examples"))
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    args = ap.parse_args()

    torch.set_num_threads(2)
    seed_everything(SEED)
    t_start = time.time()

    d = args.data_dir
    train_x = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz"))
    train_y = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))
    test_x = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))
    test_y = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))
    assert train_x.shape == (60000, 28, 28) and test_x.shape == (10000, 28, 28)

    mean = float(np.round((train_x.astype(np.float64) / 255.0).mean(), 4))
    std = float(np.round((train_x.astype(np.float64) / 255.0).std(), 4))
    print(f"train-set pixel mean={mean} std={std}")

    xtr = normalise(train_x, mean, std)
    ytr = torch.from_numpy(train_y.astype(np.int64))
    xte = normalise(test_x, mean, std)

    model = FashionCNN()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params}")

    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = (len(xtr) + args.batch_size - 1) // args.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch)
    gen = torch.Generator().manual_seed(SEED)

    t_train = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        total_loss = 0.0
        for i in range(0, len(xtr), args.batch_size):
            bi = perm[i:i + args.batch_size]
            xb = xtr[bi]
            # light augmentation: random horizontal flip
            flip = torch.rand(len(bi), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(model(xb), ytr[bi])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total_loss += float(loss) * len(bi)
        acc = accuracy(predict(model, xte), test_y)
        print(f"epoch {epoch + 1}/{args.epochs}  loss={total_loss / len(xtr):.4f}  "
              f"test_acc={acc:.4f}  elapsed={time.time() - t_train:.0f}s", flush=True)
    train_seconds = time.time() - t_train

    model.eval()
    test_pred = predict(model, xte)
    acc_10k = accuracy(test_pred, test_y)
    sel = balanced_indices(test_y, 50)
    acc_500 = accuracy(test_pred[torch.from_numpy(sel)], test_y[sel])
    print(f"torch accuracy: 10k={acc_10k:.4f}  500={acc_500:.4f}")

    # ---------------------------------------------------------------- export
    os.makedirs(args.out_dir, exist_ok=True)
    onnx_path = os.path.join(args.out_dir, "fashion-cnn.onnx")
    dummy = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(
        model, dummy, onnx_path,
        opset_version=13,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        # PRESERVE + model.eval() -> BatchNormalization exported as separate inference-mode
        # nodes (EVAL would fold them into the Conv weights); no constant folding so every
        # weight stays a plain initializer.
        training=torch.onnx.TrainingMode.PRESERVE,
        do_constant_folding=False,
    )

    import onnx
    import onnx.numpy_helper

    m, ops = check_onnx_graph(onnx_path)
    # the exported initializers must be exactly the trained parameters/buffers
    sd = {k: v.numpy() for k, v in model.state_dict().items()}
    for init in m.graph.initializer:
        arr = onnx.numpy_helper.to_array(init)
        if init.name not in sd or not np.array_equal(arr, sd[init.name]):
            raise RuntimeError(f"initializer {init.name} does not match the torch state_dict")
    meta = {
        "description": "PruneLens example: small CNN (stem, stride-2 conv, residual block, "
                       "depthwise+pointwise, maxpool, stride-2 conv, 2x Linear) trained on Fashion-MNIST. "
                       "Input: (pixel/255 - mean)/std, shape [N,1,28,28].",
        "mean": str(mean),
        "std": str(std),
        "class_names": json.dumps(CLASS_NAMES),
        "dataset": "Fashion-MNIST (Zalando Research, MIT licence)",
    }
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    m.doc_string = meta["description"]
    m.producer_name = "PruneLens scripts/make-example/train_example.py (torch %s)" % torch.__version__
    onnx.checker.check_model(m)
    onnx.save(m, onnx_path)
    print("ONNX ops:", json.dumps(dict(sorted(ops.items()))))

    # ---------------------------------------------------------------- samples
    img_path = os.path.join(args.out_dir, "fashion-mnist-500-images-idx3-ubyte.gz")
    lbl_path = os.path.join(args.out_dir, "fashion-mnist-500-labels-idx1-ubyte.gz")
    write_idx_gz(img_path, test_x[sel])
    write_idx_gz(lbl_path, test_y[sel])
    assert np.array_equal(read_idx(img_path), test_x[sel])
    assert np.array_equal(read_idx(lbl_path), test_y[sel])

    # ---------------------------------------------------------------- description
    desc = {
        "name": "fashion-cnn",
        "model": "fashion-cnn.onnx",
        "description": meta["description"],
        "dataset": meta["dataset"],
        "input": {"name": "input", "shape": [1, 1, 28, 28], "dynamicAxes": {"0": "batch"}, "dtype": "float32"},
        "output": {"name": "logits", "shape": [1, 10], "dynamicAxes": {"0": "batch"}, "dtype": "float32"},
        "preprocessing": {"scale": 1 / 255, "mean": mean, "std": std,
                          "formula": "(pixel * scale - mean) / std"},
        "classNames": CLASS_NAMES,
        "opset": 13,
        "paramCount": n_params,
        "onnxOps": dict(sorted(ops.items())),
        "architecture": [
            "Conv3x3 1->16 + BN + ReLU (28x28)",
            "Conv3x3 stride2 16->32 + BN + ReLU (14x14)",
            "Residual: Conv3x3 32->32 + BN + ReLU, Conv3x3 32->32 + BN, Add(skip), ReLU",
            "Depthwise Conv3x3 groups=32 + BN + ReLU",
            "Pointwise Conv1x1 32->64 + BN + ReLU",
            "MaxPool 2x2 (7x7)",
            "Conv3x3 stride2 64->32 + BN + ReLU (4x4)",
            "Flatten -> Linear 512->64 -> ReLU -> Linear 64->10",
        ],
        "accuracy": {"test10k": round(acc_10k, 4), "samples500": round(acc_500, 4)},
        "samples": {
            "images": "fashion-mnist-500-images-idx3-ubyte.gz",
            "labels": "fashion-mnist-500-labels-idx1-ubyte.gz",
            "count": int(len(sel)),
            "selection": "class-balanced: first 50 images of each class in t10k order, kept in t10k order",
            "t10kIndices": sel.tolist(),
        },
        "training": {"optimizer": "Adam + OneCycleLR", "maxLr": args.lr, "epochs": args.epochs,
                     "batchSize": args.batch_size, "augmentation": "random horizontal flip",
                     "seed": SEED, "torch": torch.__version__, "seconds": round(train_seconds, 1)},
        "regenerate": REGEN_COMMAND,
        "check": CHECK_COMMAND,
    }
    dump_json(desc, os.path.join(args.out_dir, "fashion-cnn.json"))

    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes), samples, fashion-cnn.json")
    print(f"training {train_seconds:.0f}s, total {time.time() - t_start:.0f}s")
    if acc_10k < 0.88:
        print("WARNING: test accuracy below 0.88", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
