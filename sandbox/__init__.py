"""A local Confluence Cloud stand-in for development and tests (never for production).

`create_app(config)` builds the Flask app; `python -m sandbox` runs it; `sandbox.testing.run_sandbox`
starts one in-process for tests.
"""

from __future__ import annotations

from sandbox.app import create_app
from sandbox.config import SandboxConfig

__all__ = ["SandboxConfig", "create_app"]
