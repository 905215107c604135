"""analysis: the papers' figures and claims, computed from trained networks.

Every analysis is a pure function from arrays (or result objects) to a frozen result
dataclass of numbers that also carries a matplotlib Figure (Agg canvas, no pyplot state).
:func:`reproduce` runs them all and writes the report; ``resdyn reproduce`` is its command.
"""

from ._style import class_color, class_colors
from .appendix_sensitivity import SensitivityResult, layer_sensitivity
from .claims import CLAIM_IDS, VERDICTS, ClaimRow, build_claims, claims_markdown
from .exact_small_n import ExactPictureResult, exact_picture
from .fig2_residual_stats import ResidualStatsResult, residual_stats, settling_layer
from .fig3_classifier_neurons import ClassifierNeuronsResult, classifier_neurons
from .fig4_noise import NoiseSweepResult, misclassification_onset, noise_sweep
from .fig5_class_residuals import ClassResidualsResult, class_residuals, count_distinct_states
from .fig6_embedding import (
    CosineSimilarityResult,
    EmbeddingResult,
    TrajectoryDistanceResult,
    class_cosine_similarity,
    trajectory_distances,
    trajectory_embedding,
)
from .perturbation_sweep import PerturbationSweepResult, perturbation_slope
from .reproduce import PROFILES, Profile, ReproduceResult, reproduce
from .sect6_jacobian import JacobianResult, jacobian_at_class_means
from .sect7_adaptive_depth import AdaptiveDepthResult, DepthRun, adaptive_depth_summary

__all__ = [
    "class_color", "class_colors",
    "residual_stats", "settling_layer", "ResidualStatsResult",
    "classifier_neurons", "ClassifierNeuronsResult",
    "noise_sweep", "misclassification_onset", "NoiseSweepResult",
    "class_residuals", "count_distinct_states", "ClassResidualsResult",
    "trajectory_embedding", "EmbeddingResult",
    "class_cosine_similarity", "CosineSimilarityResult",
    "trajectory_distances", "TrajectoryDistanceResult",
    "jacobian_at_class_means", "JacobianResult",
    "layer_sensitivity", "SensitivityResult",
    "adaptive_depth_summary", "DepthRun", "AdaptiveDepthResult",
    "perturbation_slope", "PerturbationSweepResult",
    "exact_picture", "ExactPictureResult",
    "build_claims", "claims_markdown", "ClaimRow", "CLAIM_IDS", "VERDICTS",
    "reproduce", "Profile", "PROFILES", "ReproduceResult",
]
