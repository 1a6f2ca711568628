"""The separable soft-average route: carry out of a + b (n digits each) as the sign of
sum_j w_j a_j + sum_j w_j b_j - 9 sum_j w_j with softmax weights w_j ~ 19^j (three attention
averages). Worst case: every pair sums to 9 except place 0 (10: carry, 8: none)."""
import numpy as np
rng = np.random.default_rng(2025)
for dt in (np.float32, np.float64):
    first_bad = None
    for n in range(1, 41):
        bad = 0
        for trial in range(200):
            a = rng.integers(0, 10, n); b = 9 - a
            last = rng.choice([8, 10]); a[0] = rng.integers(max(0, last - 9), min(9, last) + 1); b[0] = last - a[0]
            s = (np.arange(n) * np.log(19)).astype(dt)
            w = np.exp(s - s.max()); w = (w / w.sum()).astype(dt)
            S = dt(w @ a.astype(dt)) + dt(w @ b.astype(dt)) - dt(9) * w.sum(dtype=dt)
            bad += (S > 0) != (last == 10)
        if bad and first_bad is None:
            first_bad = n
        print(dt.__name__, n, bad) if n <= 16 else None
    print(dt.__name__, "first n with a wrong carry:", first_bad)
