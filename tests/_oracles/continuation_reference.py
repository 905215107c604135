"""A slow, readable check of a continuation against fresh fixed-point listings on a grid.

At every grid point s (away from the reported events) the listing of ``fixed_points(W(s))``
must hold exactly the patterns whose branch covers s, with the same in-box status; between
two grid points the flow and map labels of each in-box point must change exactly as the
events reported between them say (the first event's ``before`` is the label at the left
point, the last event's ``after`` the label at the right point; no event, no change).
"""

from __future__ import annotations

import numpy as np

import dynsys


def random_path(n: int, K: int, seed: int, step: float = 0.4) -> np.ndarray:
    """(K, N, N): W_0 with entries N(0, 1/N), then a random walk of steps `step` N(0, 1/N)."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n)) / np.sqrt(n)
    Ws = [W]
    for _ in range(K - 1):
        W = W + step * rng.normal(size=(n, n)) / np.sqrt(n)
        Ws.append(W)
    return np.array(Ws)


def branch_set(cont, s: float) -> set:
    """(pattern, in_box) of the non-degenerate branch rows that cover `s`."""
    br = cont.branches
    return {(tuple(br.pattern[r].tolist()), bool(br.in_box[r]))
            for r in br.at(s) if not br.degenerate[r]}


def listing_set(fp) -> set:
    """(pattern, in_box) of every listed point."""
    return {(tuple(p), bool(b)) for p, b in zip(fp.patterns.tolist(), fp.in_box)}


def in_box_labels(fp) -> dict:
    """pattern -> (flow label, map label) of the in-box points."""
    return {tuple(p): (str(f), str(m)) for p, f, m, b in
            zip(fp.patterns.tolist(), fp.stability, fp.map_stability, fp.in_box) if b}


def grid_mismatches(cont, n_grid: int, *, guard: float = 1e-6) -> list:
    """Every disagreement between `cont` and fresh listings on a grid of `n_grid` points."""
    ev = cont.events
    kinds = ev.kind.astype(str)
    bad = []
    prev = None
    for s in np.linspace(0.0, cont.s_max, n_grid):
        if len(ev) and np.min(np.abs(ev.s - s)) < guard:
            continue
        fp = dynsys.fixed_points(cont.W_at(s), activation=cont.activation)
        got, want = listing_set(fp), branch_set(cont, s)
        if got != want:
            bad.append(("points", s, sorted(got - want), sorted(want - got)))
        labels = in_box_labels(fp)
        if prev is not None:
            s0, labels0 = prev
            for pat, (f1, m1) in labels.items():
                if pat not in labels0:
                    continue
                f0, m0 = labels0[pat]
                mine = (ev.s > s0) & (ev.s < s) & np.all(ev.pattern == np.array(pat), axis=1)
                for prefix, a, b in (("flow", f0, f1), ("map", m0, m1)):
                    sel = np.flatnonzero(mine & np.char.startswith(kinds, prefix))
                    if sel.size:
                        ok = ev.before[sel[0]] == a and ev.after[sel[-1]] == b
                    else:
                        ok = a == b
                    if not ok:
                        bad.append((prefix, s0, s, pat, (a, b)))
        prev = (s, labels)
    return bad


def event_mismatches(cont, *, offset: float = 1e-7) -> list:
    """Label events whose labels differ from a fresh listing just before and after them."""
    ev = cont.events
    bad = []
    for i in range(len(ev)):
        kind = str(ev.kind[i])
        if not kind.startswith(("flow", "map")) or ev.before[i] == ev.after[i]:
            continue
        s = float(ev.s[i])
        if s - offset < 0 or s + offset > cont.s_max:
            continue
        # another event of the same point too close to tell them apart
        same = np.all(ev.pattern == ev.pattern[i], axis=1)
        if np.count_nonzero(same & (np.abs(ev.s - s) < 3 * offset)) > 2:
            continue
        pat = tuple(ev.pattern[i].tolist())
        col = 0 if kind.startswith("flow") else 1
        for t, want in ((s - offset, ev.before[i]), (s + offset, ev.after[i])):
            labels = in_box_labels(dynsys.fixed_points(cont.W_at(t), activation=cont.activation))
            if pat in labels and labels[pat][col] != want:
                bad.append((kind, s, pat, t, labels[pat][col], str(want)))
    return bad
