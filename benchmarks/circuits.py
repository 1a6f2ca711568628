"""How long `taotp circuits` takes, and how much it prints, on the big programs.

    python benchmarks/circuits.py                  # every case
    python benchmarks/circuits.py --case search --pictures

Per case (shipped programs at their defaults, and the largest settings the book
counts): compiling, reading the circuits (samples included), rendering the text,
the JSON, and with --pictures the PNGs; wall and CPU seconds (CPU: this process,
all threads), the text's lines and widest line, and the JSON's size. One BLAS
thread, as the reference engine is measured. Nothing is asserted: it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import taotp  # noqa: E402
from taotp.circuits import circuits  # noqa: E402
from taotp.circuits.json_out import to_json  # noqa: E402
from taotp.circuits.render_text import render_plain  # noqa: E402

CASES = {
    "sort": ("sort", {}),
    "search": ("search", {}),
    "add3": ("add", {"n_digits": "3"}),
    "add_unpadded3": ("add_unpadded", {"n_digits": "3"}),
    "lookup100": ("lookup", {"table": "examples/tables/random100.tsv"}),
}


class Clock:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def run(name: str, program: str, sets: dict, samples: int, pictures: bool) -> None:
    with Clock() as comp:
        prog = taotp.load_program(program, sets, progress=False)
    with Clock() as read:
        c = circuits(prog, samples=samples)
    with Clock() as text_t:
        text = render_plain(c)
    with Clock() as json_t:
        js = json.dumps(to_json(c), allow_nan=False)
    lines = text.splitlines()
    p = prog.params
    size = (f"vocab {p.vocab_size}, block {p.block_size}, {len(p.layers)} layer(s), "
            f"heads {[L.n_heads for L in p.layers]}, d_ff {[L.d_ff for L in p.layers]}")
    print(f"{name:<14} {size}")
    print(f"{'':14} compile {comp.wall:6.2f} s | circuits {read.wall:6.2f} s wall {read.cpu:6.2f} s cpu "
          f"| text {text_t.wall:5.2f} s, {len(lines)} lines, widest {max(map(len, lines))} "
          f"| json {json_t.wall:5.2f} s, {len(js) / 1e6:.2f} MB")
    if pictures:
        from taotp.circuits.render_png import rendered

        with Clock() as pic:
            pics = rendered(c)
        print(f"{'':14} pictures {pic.wall:6.2f} s wall {pic.cpu:6.2f} s cpu, {len(pics)} PNGs, "
              f"{sum(len(b) for _, _, b in pics) / 1e6:.2f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=sorted(CASES), action="append")
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--pictures", action="store_true", help="also draw the PNGs (matplotlib)")
    args = ap.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cpus, "
          f"load {os.getloadavg()[0]:.1f}; samples {args.samples}")
    for name in args.case or list(CASES):
        program, sets = CASES[name]
        run(name, program, sets, args.samples, args.pictures)


if __name__ == "__main__":
    main()
