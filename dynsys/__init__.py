"""dynsys: the residual network as a dynamical system (analytical layer of resdyn).

Pure mathematics on NumPy arrays: SymPy for exact work on small systems, SciPy/NumPy for
numerics, Numba kernels (private, in :mod:`dynsys._kernels`) for the heavy loops. This package
never imports torch, :mod:`nets` or :mod:`analysis`.
"""

from ._network import KINDS, Network

__all__ = ["KINDS", "Network"]

# --- the flow of eq. 3, its stability labels, exact derivation
from ._stability import (
    LABELS,
    NON_HYPERBOLIC,
    SADDLE,
    STABLE,
    UNSTABLE,
    classify_multipliers,
    classify_spectrum,
    default_zero_tol,
    unstable_dimension,
)
from ._symbolic import Derivation, SymbolicSystem, derive_eq3, symbolic_system
from ._system import (
    ResidualSystem,
    as_system,
    jacobian,
    layer_map,
    layer_map_jacobian,
    logistic,
    logit,
    vector_field,
)

__all__ += [
    "LABELS", "NON_HYPERBOLIC", "SADDLE", "STABLE", "UNSTABLE",
    "classify_multipliers", "classify_spectrum", "default_zero_tol", "unstable_dimension",
    "Derivation", "SymbolicSystem", "derive_eq3", "symbolic_system",
    "ResidualSystem", "as_system", "jacobian", "layer_map", "layer_map_jacobian",
    "logistic", "logit", "vector_field",
]
from ._system import residual_map, residual_map_jacobian
__all__ += ["residual_map", "residual_map_jacobian"]

# --- the one check of class labels (analysis validates its labels with it too)
from ._validation import check_labels
__all__ += ["check_labels"]

# --- fixed points: one entry point, an engine registry (dynsys/_fixed_points/)
from ._fixed_points import (
    FIXED_POINT_ENGINES,
    DegeneratePatterns,
    FixedPointCounts,
    FixedPointEngine,
    FixedPoints,
    count_fixed_points,
    fixed_points,
)

__all__ += [
    "DegeneratePatterns", "FixedPointCounts", "FixedPoints", "count_fixed_points",
    "fixed_points", "FIXED_POINT_ENGINES", "FixedPointEngine",
]

# --- layer maps, noise, sensitivity, Lyapunov
from ._layers import IterateResult, iterate
from ._lyapunov import LyapunovResult, lyapunov
from ._noise import NoiseResult, iterate_noise
from ._sensitivity import SensitivityResult, sensitivity

__all__ += [
    "IterateResult", "iterate", "LyapunovResult", "lyapunov", "NoiseResult", "iterate_noise",
    "SensitivityResult", "sensitivity",
]

# --- continuous dynamics, local analysis, basins
from ._basins import Basins, basins
from ._integrate import NoiseTrajectory, Trajectory, integrate, integrate_noise
from ._fixed_points import LocalSpectrum, RefinedFixedPoint, refine_fixed_point, spectrum_at

__all__ += [
    "Basins", "basins", "NoiseTrajectory", "Trajectory", "integrate", "integrate_noise",
    "LocalSpectrum", "RefinedFixedPoint", "refine_fixed_point", "spectrum_at",
]

# --- attractor census
from ._census import STATUSES as CENSUS_STATUSES
from ._census import AttractorCensus, attractor_census

__all__ += ["AttractorCensus", "CENSUS_STATUSES", "attractor_census"]

# --- the census over the checkpoints of a training run
from ._census import PSEUDO_IDS as CENSUS_PSEUDO_IDS
from ._census import CensusEvents, CensusFaceChanges, CensusTrack, CensusTransitions, track_census

__all__ += ["CENSUS_PSEUDO_IDS", "CensusEvents", "CensusFaceChanges", "CensusTrack",
            "CensusTransitions", "track_census"]

# --- statistics of fixed points over random networks
from ._fixed_points import FixedPointStatistics, fixed_point_statistics

__all__ += ["FixedPointStatistics", "fixed_point_statistics"]

# --- fixed points along a path of weights (checkpoints): branches and events
from ._fixed_points import (
    ContinuationWork,
    FixedPointBranches,
    FixedPointContinuation,
    FixedPointEvents,
    continue_fixed_points,
)

__all__ += ["ContinuationWork", "FixedPointBranches", "FixedPointContinuation",
            "FixedPointEvents", "continue_fixed_points"]

# --- the plain-text table of every result's table(), for tables beside them
from ._tables import text_table

__all__ += ["text_table"]
