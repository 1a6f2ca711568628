"""What the book's solved shift matrices (fig. 3.1, `rotation3d_solved`) leave to the machine.

fig. 3.1 solves T R = S for a 3x3 T whose rows (ring points) all lie in the plane
perpendicular to (1, 1, 1): T is singular, and every solution is the exact rotation
R plus 1 c^T for some vector c that LAPACK's rounding picks. So each entry of a
solved matrix is R[i, j] + c[j], exactly zero only where rounding makes c[j] hit
-R[i, j]. In a column whose entries are distinct at most one can vanish; in a column
of the identity (theta = 0) two can. The non-zero count of a program built with them
is therefore the count of everything else (fixed by the construction) plus, per
matrix, anything between `least_nonzero(R)` and 9 - which one depends on the BLAS."""

from __future__ import annotations

import numpy as np

from taotp.builtins.encodings import rotation3d


def least_nonzero(R: np.ndarray) -> int:
    """Fewest non-zeros R + 1 c^T can have over all c: per column, 3 minus the largest
    number of equal entries (equal within 1e-9: only exact coincidences count)."""
    total = 0
    for j in range(R.shape[1]):
        col = R[:, j]
        total += len(col) - max(int(np.sum(np.abs(col - v) < 1e-9)) for v in col)
    return total


def nonzero_range(exact_program_nonzero: int, thetas) -> tuple[int, int]:
    """(fewest, most) non-zeros of a program whose shift matrices for `thetas` are solved
    (fig. 3.1), given the non-zero count of the same program built with exact rotations."""
    exact = [rotation3d(t) for t in thetas]
    rest = exact_program_nonzero - sum(int(np.count_nonzero(R)) for R in exact)
    return rest + sum(least_nonzero(R) for R in exact), rest + 9 * len(exact)
