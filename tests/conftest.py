"""Shared test setup: tests/ on sys.path for the small helpers, and gevent patched before anything else.

Several test modules import Locust, which monkey-patches the standard library with gevent when it is
first imported. If that happened halfway through collection, classes defined earlier (a helper
`threading.Thread` subclass, say) would mix real and patched primitives and hang. Importing Locust
here, before any test module, makes every test see the same, patched world, as a locustfile does.
"""

import sys
from pathlib import Path

import locust  # noqa: F401  (gevent monkey-patching first)

sys.path.insert(0, str(Path(__file__).resolve().parent))
