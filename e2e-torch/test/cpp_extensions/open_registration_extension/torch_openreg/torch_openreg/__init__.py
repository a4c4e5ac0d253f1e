import torch

from . import _C  # noqa: F401  (registers the openreg ops)

torch.utils.rename_privateuse1_backend("openreg")
