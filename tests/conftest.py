"""Suite-wide settings: headless matplotlib and a Hypothesis profile sized for 2-core CI."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from hypothesis import HealthCheck, settings  # noqa: E402

# Numba compiles on first call, so the first example of a property can be slow: no deadline.
settings.register_profile(
    "resdyn",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "resdyn"))
