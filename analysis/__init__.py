"""analysis: the papers' figures and claims, computed from trained networks.

Every analysis comes in two halves: ``compute_*`` turns arrays (trajectories recorded by
:func:`dynsys.iterate`, in (T, B, N) order) into a frozen result dataclass of numbers, without
matplotlib; ``plot_*`` draws a :class:`matplotlib.figure.Figure` from that result (Agg canvas,
no pyplot state). :mod:`analysis.claims` judges the papers' claims from the results;
:func:`reproduce` runs everything and writes the report; ``resdyn reproduce`` is its command.
"""

from ._style import class_color, class_colors
from .appendix_sensitivity import (LayerSensitivitySummary, compute_layer_sensitivity,
                                   plot_layer_sensitivity)
from .baselines import BaselineErrors, compute_baselines
from .census import (CensusSectionResult, NetworkCensus, compute_census_section,
                     plot_census_end_states, plot_census_status, plot_saddle_eigenvalues,
                     plot_settled_fraction, section_from_census, settled_fraction)
from .claims import (CLAIM_IDS, CLAIMS, VERDICTS, Claim, ClaimRow, Judgement, build_claims,
                     claims_markdown)
from .exact_small_n import ExactPictureResult, compute_exact_picture, plot_exact_picture
from .fig2_residual_stats import (ResidualStatsResult, compute_residual_stats,
                                  plot_residual_stats, settling_layer)
from .fig3_classifier_neurons import (ClassifierNeuronsResult, compute_classifier_neurons,
                                      plot_classifier_neurons)
from .fig4_noise import (NoiseSweepResult, compute_noise_sweep, misclassification_onset,
                         plot_noise_sweep)
from .fig5_class_residuals import (ClassResidualsResult, compute_class_residuals,
                                   count_distinct_states, plot_class_residuals)
from .fig6_embedding import (
    CosineSimilarityResult,
    EmbeddingResult,
    TrajectoryDistanceResult,
    compute_class_cosine_similarity,
    compute_trajectory_distances,
    compute_trajectory_embedding,
    plot_class_cosine_similarity,
    plot_trajectory_distances,
    plot_trajectory_embedding,
)
from .landscape import (LandscapeResult, TrainingPath, compute_landscape, landscape_events,
                        landscape_from_track, load_training_path, plot_bifurcation_diagram,
                        plot_landscape_counts, plot_landscape_river)
from .perturbation_sweep import (PerturbationSweepResult, compute_perturbation_slope,
                                 plot_perturbation_slope)
from .reproduce import PROFILES, Profile, ReproduceResult, reproduce
from .sect6_jacobian import (JacobianResult, compute_jacobian_at_class_means,
                             plot_jacobian_at_class_means)
from .sect7_adaptive_depth import (AdaptiveDepthResult, DepthRun, compute_adaptive_depth,
                                   plot_adaptive_depth)

__all__ = [
    "class_color", "class_colors",
    "compute_residual_stats", "plot_residual_stats", "settling_layer", "ResidualStatsResult",
    "compute_classifier_neurons", "plot_classifier_neurons", "ClassifierNeuronsResult",
    "compute_noise_sweep", "plot_noise_sweep", "misclassification_onset", "NoiseSweepResult",
    "compute_class_residuals", "plot_class_residuals", "count_distinct_states",
    "ClassResidualsResult",
    "compute_trajectory_embedding", "plot_trajectory_embedding", "EmbeddingResult",
    "compute_class_cosine_similarity", "plot_class_cosine_similarity", "CosineSimilarityResult",
    "compute_trajectory_distances", "plot_trajectory_distances", "TrajectoryDistanceResult",
    "compute_jacobian_at_class_means", "plot_jacobian_at_class_means", "JacobianResult",
    "compute_layer_sensitivity", "plot_layer_sensitivity", "LayerSensitivitySummary",
    "compute_adaptive_depth", "plot_adaptive_depth", "DepthRun", "AdaptiveDepthResult",
    "compute_perturbation_slope", "plot_perturbation_slope", "PerturbationSweepResult",
    "compute_landscape", "landscape_from_track", "load_training_path", "landscape_events",
    "plot_landscape_river", "plot_landscape_counts", "plot_bifurcation_diagram",
    "LandscapeResult", "TrainingPath",
    "compute_exact_picture", "plot_exact_picture", "ExactPictureResult",
    "compute_baselines", "BaselineErrors",
    "compute_census_section", "plot_census_status", "plot_census_end_states",
    "plot_saddle_eigenvalues", "plot_settled_fraction", "settled_fraction",
    "section_from_census", "CensusSectionResult", "NetworkCensus",
    "build_claims", "claims_markdown", "Claim", "ClaimRow", "Judgement", "CLAIMS", "CLAIM_IDS",
    "VERDICTS",
    "reproduce", "Profile", "PROFILES", "ReproduceResult",
]
