"""asrlab-eval: a checkpoint's WER, CER and exact-match accuracy on a split, for one or more
decoders over one pass of the acoustic model; per-utterance errors, confusions and report.md in
the run folder (see conf/eval.yaml)."""

import logging

import hydra
from omegaconf import DictConfig, MissingMandatoryValue

from asrlab.cli.quiet import quiet
from asrlab.data.manifest import ManifestError
from asrlab.tools.evaluation.inputs import EvaluationError
from asrlab.tools.evaluation.run import evaluate
from asrlab.training.threads import set_threads

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path="../conf", config_name="eval")
def main(cfg: DictConfig) -> None:
    """Evaluate; bad input (checkpoint, data, decoders) exits with its message, no traceback."""
    quiet()
    set_threads(cfg.threads)
    try:
        evaluate(cfg)
    except (EvaluationError, ManifestError, MissingMandatoryValue) as err:
        log.error("%s", err)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
