"""Random-number states saved with each checkpoint, so that a resumed run draws what an
uninterrupted one would (SpecAugment masks, dropout); Lightning's Trainer does not save them."""

import random
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch


class RngState(pl.Callback):
    """Saves and restores the torch (CPU and CUDA), NumPy and Python generators' states.

    Stored as tensors and plain Python values, so that weights-only unpickling reads them.
    """

    def state_dict(self) -> dict[str, Any]:
        name, keys, pos, has_gauss, gauss = np.random.get_state()
        version, python_state, python_gauss = random.getstate()
        return {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
            "python": [version, list(python_state), python_gauss],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        torch.set_rng_state(state_dict["torch"])
        if state_dict["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])
        name, keys, pos, has_gauss, gauss = state_dict["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
        version, python_state, python_gauss = state_dict["python"]
        random.setstate((version, tuple(python_state), python_gauss))
