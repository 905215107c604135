"""How many fixed points of which type does a random network of size N have? Exact counts.

:func:`fixed_point_statistics` draws an ensemble of weight matrices W, counts every fixed point
of eq. 3 of Lagzi 2018 ("Residual networks classify inputs based on their neural transient
dynamics"), dy/dt = y (1 - y) (W y), exactly by pattern enumeration for each draw, and reports
the distribution of the counts by type over the ensemble with confidence intervals.

Ensembles (``g`` the gain):

``"gaussian"``
    i.i.d. entries N(0, g^2 / N) (the circular law: the spectrum of W fills the disk of
    radius g).
``"symmetric"``
    ``W = g (X + X^T) / sqrt(2 N)``, X i.i.d. N(0, 1): off-diagonal entries N(0, g^2 / N),
    diagonal N(0, 2 g^2 / N) (the Gaussian orthogonal ensemble, semicircle of radius 2 g).
``"sparse"``
    each entry non-zero with probability `density`, the non-zero ones N(0, g^2 / (density N)),
    so that the row variance matches the Gaussian ensemble.
a callable ``f(rng, N) -> W``
    any ensemble: `rng` is the sample's ``numpy.random.Generator``.

With ``activation="tanh"`` each drawn W is the weight matrix of a tanh network,
dy/dt = (1 - y^2)(W y), counted as the driven logistic system of :func:`dynsys.count_fixed_points`
(``activation="tanh"``); the draws are those of the logistic ensemble with the same seed.

Reproducibility: sample ``s`` draws from ``default_rng(SeedSequence(seed).spawn(S)[s])``, so
the result does not depend on how the samples are spread over threads or Dask workers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .._activation import activation_box
from .._arrays import readonly as _readonly
from .._kernels._common import tolerance_array
from .._tables import text_table
from .._threads import numba_threads
from ._common import (MAX_N_INCREMENTAL, check_size, numeric_tolerances, unit_tolerances,
                      validate_weights)
from ._incremental import count_table
from ._results import decode_counts

__all__ = ["FixedPointStatistics", "fixed_point_statistics", "ENSEMBLES", "CI_METHODS",
           "QUANTITIES"]

#: Built-in ensembles (see the module docstring); a callable ``f(rng, N) -> W`` also works.
ENSEMBLES = ("gaussian", "symmetric", "sparse")
#: Confidence-interval methods for the ensemble mean.
CI_METHODS = ("normal", "bootstrap")
#: Per-sample counts always reported (in-box labels are for the flow unless they say "map").
#: The last four account for the patterns that are not counted points (see
#: :class:`dynsys.FixedPointCounts`): per sample ``total + origin_copies + merged +
#: no_solution + continuum == 3^N``.
QUANTITIES = ("total", "in_box", "out_of_box", "stable_in_box", "unstable_in_box",
              "saddle_in_box", "non_hyperbolic_in_box", "map_stable_in_box", "disagreements",
              "origin_copies", "merged", "no_solution", "continuum")
#: Added with ``classify_out_of_box=True``.
QUANTITIES_OUT = ("stable", "stable_out_of_box", "saddle_out_of_box")


@dataclass(frozen=True, eq=False)
class FixedPointStatistics:
    """Counts of the fixed points of eq. 3 over an ensemble of random W.

    Attributes
    ----------
    n : int
        The network size N.
    ensemble : str
        ``"gaussian"``, ``"symmetric"``, ``"sparse"`` or ``"callable"``.
    gain : float
        The gain g (NaN for a callable ensemble).
    density : float
        Non-zero fraction of the sparse ensemble (1 otherwise).
    n_samples : int
        Ensemble size S.
    seed : int or None
        The root of the samples' ``SeedSequence``: the same seed gives the same result.
    counts : Mapping[str, ndarray of int, shape (S,)]
        Per-sample counts by quantity (see :data:`QUANTITIES`).
    saddle_index_in_box : ndarray of int, shape (S, N + 1)
        Per sample, the number of in-box points with k unstable directions (column k; k = 0
        stable, 0 < k < N saddles by index, k = N unstable).
    mean, ci_low, ci_high : Mapping[str, float]
        Ensemble mean of each quantity and its confidence interval.
    confidence : float
        Coverage of the intervals (e.g. 0.95).
    ci_method : str
        ``"normal"`` (mean +- t quantile x standard error, Student's t with S - 1 degrees of
        freedom) or ``"bootstrap"`` (percentile interval of the resampled means).
    classify_out_of_box : bool
        Whether out-of-box points were labelled (adds ``stable``, ``stable_out_of_box``,
        ``saddle_out_of_box``).
    activation : {"logistic", "tanh"}
        The activation of the networks counted (the box is [-1, 1]^N for tanh).
    """

    n: int
    ensemble: str
    gain: float
    density: float
    n_samples: int
    seed: int | None
    counts: MappingProxyType
    saddle_index_in_box: np.ndarray
    mean: MappingProxyType
    ci_low: MappingProxyType
    ci_high: MappingProxyType
    confidence: float
    ci_method: str
    classify_out_of_box: bool
    activation: str = "logistic"
    box = property(activation_box, doc="``(lower, upper)``: [0, 1] or [-1, 1] per coordinate.")

    def __repr__(self) -> str:
        act = "" if self.activation == "logistic" else f", activation={self.activation!r}"
        return (f"FixedPointStatistics(N={self.n}, ensemble={self.ensemble!r}, "
                f"gain={self.gain:g}{act}, n_samples={self.n_samples}, "
                f"mean stable_in_box={self.mean['stable_in_box']:.3g}, "
                f"mean total={self.mean['total']:.4g})")

    @property
    def quantities(self) -> tuple:
        """Names of the reported quantities, in table order."""
        return tuple(self.counts)

    def distribution(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(values, fraction of samples)`` of quantity `name` (the empirical distribution)."""
        if name not in self.counts:
            raise KeyError(f"`name` must be one of {self.quantities}; got {name!r}.")
        values, freq = np.unique(self.counts[name], return_counts=True)
        return values, freq / self.n_samples

    def interval(self, name: str) -> tuple[float, float]:
        """``(low, high)`` confidence interval of the ensemble mean of `name`."""
        return self.ci_low[name], self.ci_high[name]

    def table(self) -> str:
        """Plain-text table: mean and interval of each quantity."""
        rows = [("quantity", "mean", f"{self.confidence:.0%} CI ({self.ci_method})")]
        for q in self.quantities:
            rows.append((q, f"{self.mean[q]:.4g}",
                         f"[{self.ci_low[q]:.4g}, {self.ci_high[q]:.4g}]"))
        lines = [text_table(rows, "lll")]
        act = "" if self.activation == "logistic" else f", {self.activation} networks"
        lines.append(f"N = {self.n}, ensemble {self.ensemble!r}, g = {self.gain:g}{act}, "
                     f"{self.n_samples} samples, seed {self.seed}.")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """JSON-ready dict (per-sample counts as lists; ``activation`` when not logistic)."""
        act = {} if self.activation == "logistic" else {"activation": self.activation}
        return {
            "n": self.n, "ensemble": self.ensemble, "gain": self.gain,
            "density": self.density, "n_samples": self.n_samples, "seed": self.seed,
            "confidence": self.confidence, "ci_method": self.ci_method,
            "classify_out_of_box": self.classify_out_of_box,
            "counts": {k: v.tolist() for k, v in self.counts.items()},
            "saddle_index_in_box": self.saddle_index_in_box.tolist(),
            "mean": dict(self.mean), "ci_low": dict(self.ci_low), "ci_high": dict(self.ci_high),
            **act,
        }


def _draw(ensemble, rng, n: int, gain: float, density: float) -> np.ndarray:
    if callable(ensemble):
        from .._network import as_weights

        W = as_weights(ensemble(rng, n), "ensemble(rng, N)")
        if W.shape != (n, n):
            raise ValueError(f"`ensemble(rng, N)` must return an ({n}, {n}) matrix; got shape "
                             f"{W.shape}.")
        return W
    if ensemble == "gaussian":
        return gain / math.sqrt(n) * rng.standard_normal((n, n))
    if ensemble == "symmetric":
        X = rng.standard_normal((n, n))
        return gain / math.sqrt(2.0 * n) * (X + X.T)
    mask = rng.random((n, n)) < density
    return np.where(mask, gain / math.sqrt(density * n) * rng.standard_normal((n, n)), 0.0)


def _count_row(W, zero_tol, classify_out_of_box: bool, activation: str = "logistic"
               ) -> np.ndarray:
    """The incremental engine's count row of one W (validated here: it is drawn per sample),
    with the defaults of :func:`dynsys.count_fixed_points`; a tanh W is counted as its driven
    logistic system, with the tolerances converted as there."""
    weights = validate_weights(W, activation)
    check_size(weights.n, None, counting=True, engine="incremental", max_n=MAX_N_INCREMENTAL)
    tols = unit_tolerances(numeric_tolerances(weights.network_W, zero_tol=zero_tol), weights)
    return count_table(weights.W, tolerance_array(tols),
                       classify_out_of_box=classify_out_of_box, drive=weights.drive)


def _sample_row(ensemble, seq, n, gain, density, zero_tol, classify_out_of_box, activation,
                threads):
    """One sample: draw W from its own SeedSequence, count, return the count row."""
    rng = np.random.default_rng(seq)
    W = _draw(ensemble, rng, n, gain, density)
    with numba_threads(threads):
        return _count_row(W, zero_tol, classify_out_of_box, activation)


def _per_sample(rows: np.ndarray, n: int, classify_out_of_box: bool):
    c = decode_counts(rows, n)
    flow_in, flow_out = c["flow_in"], c["flow_out"]
    out = {
        "total": flow_in.sum(axis=1) + c["out_box"],
        "in_box": flow_in.sum(axis=1),
        "out_of_box": c["out_box"],
        "stable_in_box": flow_in[:, 0],
        "unstable_in_box": flow_in[:, 1],
        "saddle_in_box": flow_in[:, 2],
        "non_hyperbolic_in_box": flow_in[:, 3],
        "map_stable_in_box": c["map_in"][:, 0],
        "disagreements": c["disagree"],
        "origin_copies": c["origin_copies"],
        "merged": c["merged"],
        "no_solution": c["no_solution"],
        "continuum": c["continuum"],
    }
    if classify_out_of_box:
        out["stable"] = flow_in[:, 0] + flow_out[:, 0]
        out["stable_out_of_box"] = flow_out[:, 0]
        out["saddle_out_of_box"] = flow_out[:, 2]
    return ({k: np.asarray(v, np.int64) for k, v in out.items()},
            np.asarray(c["udim_in"], np.int64))


def _interval(x: np.ndarray, confidence: float, method: str, rng) -> tuple[float, float, float]:
    x = np.asarray(x, dtype=np.float64)
    m = float(x.mean())
    s = x.size
    if s < 2:
        return m, float("nan"), float("nan")
    if method == "normal":
        from scipy.stats import t

        half = float(t.ppf(0.5 + confidence / 2.0, s - 1)) * float(x.std(ddof=1)) / math.sqrt(s)
        return m, m - half, m + half
    idx = rng.integers(0, s, size=(2000, s))
    means = x[idx].mean(axis=1)
    a = (1.0 - confidence) / 2.0
    return m, float(np.quantile(means, a)), float(np.quantile(means, 1.0 - a))


def fixed_point_statistics(n: int, n_samples: int = 100, *, ensemble="gaussian",
                           gain: float = 1.0, density: float = 0.2, seed: int | None = 0,
                           confidence: float = 0.95, ci: str = "normal",
                           classify_out_of_box: bool = False, zero_tol: float | None = None,
                           workers: int | None = None, client=None,
                           activation=None) -> FixedPointStatistics:
    """Distribution of the exact fixed-point counts of eq. 3 over random networks of size N.

    Every sample's W is enumerated in full (all 3^N patterns, see
    :func:`dynsys.count_fixed_points`), O(N 3^N) work per sample (measured times on
    :doc:`/benchmarks/fixed_points`; a Dask `client` spreads the samples over a cluster).

    Parameters
    ----------
    n : int
        Network size N (1 <= N <= 24).
    n_samples : int
        Ensemble size S (>= 1; intervals need S >= 2).
    ensemble : {"gaussian", "symmetric", "sparse"} or callable
        The distribution of W (see :doc:`/theory/random_networks`); a callable ``f(rng, N)``
        returns one W (N, N) from the ``numpy.random.Generator`` `rng`.
    gain : float
        The gain g: entries have variance g^2 / N (built-in ensembles).
    density : float
        Non-zero fraction, ``0 < density <= 1`` (``"sparse"`` only).
    seed : int or None
        Root of the samples' ``SeedSequence`` (None: fresh entropy, recorded in the result).
    confidence : float
        Coverage of the intervals, in (0, 1).
    ci : {"normal", "bootstrap"}
        ``"normal"``: mean +- Student-t quantile times the standard error;
        ``"bootstrap"``: percentile interval of 2000 resampled means (seeded from `seed`).
    classify_out_of_box : bool
        Also label out-of-box points (adds ``stable``, ``stable_out_of_box`` and
        ``saddle_out_of_box``); costs a Routh-Hurwitz count per out-of-box point.
    zero_tol : float, optional
        Absolute bound under which a real part (or ``|mu| - 1``) counts as zero; default
        ``1e-9 max|W|`` per sample, the default of :func:`dynsys.count_fixed_points`.
    workers : int, optional
        Samples counted concurrently on this many threads (each sample then walks on one
        thread). Default: one sample at a time, each on all Numba threads.
    client : distributed.Client, optional
        Count the samples as tasks on a Dask cluster (``pip install resdyn[dask]``).
    activation : {"logistic", "tanh"}, optional
        The activation of the networks (default logistic): with ``"tanh"`` each drawn W is
        counted as ``count_fixed_points(W, activation="tanh")`` counts it (the box is
        [-1, 1]^N, and `zero_tol` is in the network's coordinates).

    Returns
    -------
    FixedPointStatistics

    Examples
    --------
    >>> import dynsys
    >>> st = dynsys.fixed_point_statistics(4, 20, gain=2.0, seed=1)
    >>> st.n_samples, st.counts["total"].shape
    (20, (20,))
    """
    from .._activation import resolve_activation
    from .._validation import check_choice, check_int, check_positive_float

    act = resolve_activation(None, activation).name
    n = check_int(n, "n", minimum=1, maximum=24)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    if callable(ensemble):
        name = "callable"
        gain_v, dens_v = float("nan"), 1.0
    else:
        check_choice(ensemble, "ensemble", ENSEMBLES)
        name = ensemble
        gain_v = check_positive_float(gain, "gain", allow_zero=True)
        dens_v = 1.0
        if ensemble == "sparse":
            dens_v = check_positive_float(density, "density")
            if dens_v > 1.0:
                raise ValueError(f"`density` must be in (0, 1]; got {density!r}.")
    confidence = check_positive_float(confidence, "confidence")
    if not confidence < 1.0:
        raise ValueError(f"`confidence` must be in (0, 1); got {confidence!r}.")
    check_choice(ci, "ci", CI_METHODS)
    if zero_tol is not None:
        zero_tol = check_positive_float(zero_tol, "zero_tol")
    if workers is not None:
        workers = check_int(workers, "workers", minimum=1)
    root = np.random.SeedSequence(seed)
    seqs = root.spawn(n_samples)
    args = (n, gain_v, dens_v, zero_tol, bool(classify_out_of_box), act)

    if client is not None:
        from ._distributed import check_client

        check_client(client)
        futures = [client.submit(_sample_row, ensemble, s, *args, 1, pure=False) for s in seqs]
        rows = client.gather(futures)
    elif workers is not None and workers > 1 and _threads_safe():
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(lambda s: _sample_row(ensemble, s, *args, 1), seqs))
    else:
        rows = [_sample_row(ensemble, s, *args, None) for s in seqs]
    rows = np.asarray(rows, dtype=np.int64)
    counts, udim = _per_sample(rows, n, bool(classify_out_of_box))
    # the bootstrap's own stream: a child of the root beyond the samples' ones
    boot_rng = np.random.default_rng(root.spawn(1)[0])
    mean, lo, hi = {}, {}, {}
    for q, x in counts.items():
        mean[q], lo[q], hi[q] = _interval(x, confidence, ci, boot_rng)
    return FixedPointStatistics(
        n=n, ensemble=name, gain=gain_v, density=dens_v, n_samples=n_samples,
        seed=int(root.entropy) if seed is None else seed,
        counts=MappingProxyType({k: _readonly(v) for k, v in counts.items()}),
        saddle_index_in_box=_readonly(udim),
        mean=MappingProxyType(mean), ci_low=MappingProxyType(lo), ci_high=MappingProxyType(hi),
        confidence=confidence, ci_method=ci, classify_out_of_box=bool(classify_out_of_box),
        activation=act,
    )


def _threads_safe() -> bool:
    """Whether Numba's threading layer allows parallel regions from several threads."""
    import numba

    try:
        return numba.threading_layer() in ("omp", "tbb")
    except ValueError:  # no parallel region has run yet: run one to select the layer
        _count_row(np.eye(1), None, False)
        return numba.threading_layer() in ("omp", "tbb")
