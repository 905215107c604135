"""Suite-wide settings: headless matplotlib and Hypothesis profiles sized for 2-core CI.

Profiles (choose with ``HYPOTHESIS_PROFILE``):

``resdyn`` (default, used by ``make test`` and CI)
    40 examples per property, *derandomized*: every run draws the same examples, so a CI
    failure is reproducible from the commit alone and a green run stays green.
``explore``
    500 examples per property from a fresh random seed each run: how new counterexamples are
    found during development (``HYPOTHESIS_PROFILE=explore .venv/bin/pytest tests/dynsys``).
    A counterexample it finds is pinned as an explicit test (see
    ``tests/dynsys/test_integrate.py::test_trajectory_near_a_face_example``).
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from hypothesis import HealthCheck, settings  # noqa: E402

# Numba compiles on first call, so the first example of a property can be slow: no deadline.
_COMMON = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("resdyn", max_examples=40, derandomize=True, **_COMMON)
settings.register_profile("explore", max_examples=500, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "resdyn"))
