"""BLAS threads: one thread for taotp's many small matrix products.

The engines' and the lookup fit's products are small (d_model-wide); OpenBLAS's threads
cost more than they save on them, and far more on a busy machine (measured in
docs/performance.md). Found through the OpenBLAS library NumPy loaded (Linux); elsewhere
this does nothing."""

from __future__ import annotations


def _openblas_thread_fns():
    """(get, set) of the OpenBLAS loaded in this process, or None (not Linux, not OpenBLAS)."""
    import ctypes

    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for suffix in ("64_", "", "_64"):
            for prefix in ("scipy_openblas", "openblas"):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                set_ = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    return get, set_
    return None


_BLAS = None


class one_blas_thread:
    """Run the enclosed NumPy code with one OpenBLAS thread; restore the caller's count."""

    def __enter__(self):
        global _BLAS
        if _BLAS is None:
            _BLAS = _openblas_thread_fns() or False
        self.before = None
        if _BLAS:
            self.before = int(_BLAS[0]())
            if self.before != 1:
                _BLAS[1](1)
        return self

    def __exit__(self, *exc):
        if _BLAS and self.before not in (None, 1):
            _BLAS[1](self.before)
