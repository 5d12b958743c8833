"""asrlab-decode: a checkpoint's cached log-probs on one split -> a decoder -> metrics.json
(asrlab.tools.decoding.run); returns the optimised metric (`<split>_wer`) for sweepers."""

import logging

import hydra
from omegaconf import DictConfig

from asrlab.cli.quiet import quiet
from asrlab.cli.smoke import shrinkable
from asrlab.tools.decoding.run import decode
from asrlab.tools.evaluation.inputs import EvaluationError
from asrlab.training.trial import run_trial

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path="../conf", config_name="decode")
def _main(cfg: DictConfig) -> float | None:
    """Decode; returns `cfg.optimized_metric` (a failing sweep trial: see `run_trial`); bad
    input (checkpoint, split) exits with its message, no traceback."""
    quiet()
    try:
        return run_trial(decode, cfg)
    except EvaluationError as err:
        log.error("%s", err)
        raise SystemExit(1) from None


# The console script; ASRLAB_SMOKE=1 makes it a smoke run (asrlab.cli.smoke).
main = shrinkable(_main, training=False)

if __name__ == "__main__":
    main()
