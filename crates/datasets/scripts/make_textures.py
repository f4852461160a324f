#!/usr/bin/env python3
"""Regenerate crates/datasets/data/textures.npy.gz from the scikit-image wheel.

Standard library only. Usage (from the workspace root):

    pip download --no-deps scikit-image==0.26.0 -d /tmp/skimage
    python3 crates/datasets/scripts/make_textures.py \
        /tmp/skimage/scikit_image-0.26.0-*.whl crates/datasets/data/textures.npy.gz

What it does:
- reads skimage/data/brick.png, grass.png and gravel.png (512x512, 8-bit grayscale, CC0) from
  the wheel and decodes them with a small PNG decoder (zlib + the five PNG row filters);
- downscales each by 2 in both directions with a 2x2 box average, rounded half up
  ((a+b+c+d+2)//4), giving 256x256;
- writes one .npy array of dtype uint8 and shape (3, 256, 256) in the order brick, grass,
  gravel, compressed with gzip, mtime 0.
"""

import glob
import gzip
import io
import struct
import sys
import zipfile
import zlib

NAMES = ["brick", "grass", "gravel"]


def decode_gray8_png(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit("not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if (depth, colour, interlace) != (8, 0, 0):
        raise SystemExit("expected 8-bit grayscale, non-interlaced PNG")
    raw = zlib.decompress(idat)
    rows, previous = [], [0] * width
    for y in range(height):
        start = y * (width + 1)
        kind, line = raw[start], raw[start + 1 : start + 1 + width]
        current = [0] * width
        for x in range(width):
            a = current[x - 1] if x else 0
            b = previous[x]
            c = previous[x - 1] if x else 0
            if kind == 0:
                predictor = 0
            elif kind == 1:
                predictor = a
            elif kind == 2:
                predictor = b
            elif kind == 3:
                predictor = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            current[x] = (line[x] + predictor) & 0xFF
        rows.append(current)
        previous = current
    return rows


def downscale_by_two(rows):
    return [
        [
            (rows[2 * y][2 * x] + rows[2 * y][2 * x + 1] + rows[2 * y + 1][2 * x]
             + rows[2 * y + 1][2 * x + 1] + 2) // 4
            for x in range(len(rows[0]) // 2)
        ]
        for y in range(len(rows) // 2)
    ]


def npy_bytes(images):
    height, width = len(images[0]), len(images[0][0])
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, %d, %d), }" % (
        len(images), height, width)
    total = 10 + len(header) + 1
    header += " " * ((64 - total % 64) % 64) + "\n"
    prefix = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1")
    body = bytes(v for image in images for row in image for v in row)
    return prefix + body


def main(wheel_pattern, out_path):
    (wheel_path,) = glob.glob(wheel_pattern)
    with zipfile.ZipFile(wheel_path) as wheel:
        images = [
            downscale_by_two(decode_gray8_png(wheel.read("skimage/data/%s.png" % name)))
            for name in NAMES
        ]
    data = gzip.compress(npy_bytes(images), compresslevel=9, mtime=0)
    with open(out_path, "wb") as out:
        out.write(data)
    print("%d bytes -> %s" % (len(data), out_path))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
