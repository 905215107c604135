"""dynsys: the residual network as a dynamical system (analytical layer of resdyn).

Pure mathematics on NumPy arrays: SymPy for exact work on small systems, SciPy/NumPy for
numerics, Numba kernels (private, in :mod:`dynsys._kernels`) for the heavy loops. This package
never imports torch, :mod:`nets` or :mod:`analysis`.
"""

# --- foundation (lead) -------------------------------------------------------------------
from .stability import (
    LABELS,
    NON_HYPERBOLIC,
    SADDLE,
    STABLE,
    UNSTABLE,
    classify_multipliers,
    classify_spectrum,
    unstable_dimension,
)
from .symbolic import Derivation, SymbolicSystem, derive_eq3, symbolic_system
from .system import (
    ResidualSystem,
    as_system,
    jacobian,
    layer_map,
    layer_map_jacobian,
    logistic,
    logit,
    vector_field,
)

__all__ = [
    "LABELS", "NON_HYPERBOLIC", "SADDLE", "STABLE", "UNSTABLE",
    "classify_multipliers", "classify_spectrum", "unstable_dimension",
    "Derivation", "SymbolicSystem", "derive_eq3", "symbolic_system",
    "ResidualSystem", "as_system", "jacobian", "layer_map", "layer_map_jacobian",
    "logistic", "logit", "vector_field",
]

# --- fixed points (helper A) -------------------------------------------------------------

# --- layer maps, noise, sensitivity, Lyapunov (helper B1) --------------------------------

# --- continuous dynamics, local analysis, basins (helper B2) -----------------------------
