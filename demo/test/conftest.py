"""The runner's pytest plugins (PyTorch's conftest flags), shared with other checkouts
written here: see demo_testing/pytest_plugins.py."""

from demo_testing.pytest_plugins import *  # noqa: F401,F403
