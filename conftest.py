"""Repository-wide pytest setup: Hypothesis profiles.

``ci`` (used when CI is set) derandomizes so a CI failure reproduces locally with
``HYPOTHESIS_PROFILE=ci``; ``dev`` is Hypothesis' default search.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=100,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# pytester drives the plugin like a user's project would (tests/integration).
pytest_plugins = ["pytester"]
