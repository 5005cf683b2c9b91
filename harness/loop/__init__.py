"""The human-in-the-loop workflow: queue, review, apply, distil, retrain, and the demo loop.

Every function takes a parsed :class:`~harness.suites.SuiteSpec` and returns data;
``harness.cli`` prints it. Data versions go through :class:`~harness.gold.GoldStore`
(never overwritten); the queue through :mod:`.queue` (locked, atomic).
"""
