"""Shared fixtures: tests/ on sys.path for the small helpers (platform, locust runs, browsers)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
