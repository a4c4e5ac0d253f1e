"""A device-backend package: torch calls _autoload at import when
TORCH_DEVICE_BACKEND_AUTOLOAD is on, through the torch.backends entry point."""

import os


def _autoload():
    os.environ["E2E_BACKEND_AUTOLOADED"] = "1"
