"""asrlab: speech-recognition experiments on PyTorch Lightning and Hydra."""

# Registers the resolvers that asrlab's configs use, before any config is composed.
from asrlab.training import resolvers as _resolvers  # noqa: F401

__version__ = "0.1.0"
