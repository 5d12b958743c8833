"""`data.source.fold=all` in a multirun: one trial per speaker fold, the speakers found from the
data (asrlab.data.folds) before the sweep starts, so a speaker added to the data adds a trial."""

import logging
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, read_write

from asrlab.data.folds import ALL, speakers_of
from asrlab.training.input_errors import INPUT_ERRORS, exit_from_callback

log = logging.getLogger(__name__)

KEY = "data.source.fold"


def expand_folds(overrides: list[str], folds: int) -> list[str]:
    """`overrides` with `data.source.fold` swept over `0,...,folds-1` (any fixed value dropped)."""
    kept = [o for o in overrides if o.lstrip("+~").partition("=")[0] != KEY]
    return [*kept, f"{KEY}={','.join(map(str, range(folds)))}"]


class FoldSweep(Callback):
    """Turns `data.source.fold=all` (on the command line or in the config) into a sweep over the
    folds of the speakers found; runs before `SweptKeysOnly`, so trial folders name the fold."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if OmegaConf.select(config, KEY) != ALL:
            return
        try:
            speakers = speakers_of(config.data.source)
        except INPUT_ERRORS as error:
            raise exit_from_callback(error) from None
        task = list(config.hydra.overrides.task)
        with read_write(config.hydra):
            config.hydra.overrides.task = expand_folds(task, len(speakers))
        log.info("data.source.fold=all: %d folds, one per speaker: %s", len(speakers), speakers)
