"""What asrlab-eval's config points at, checked: the checkpoint, the data and the decoders.

A CTC head's log-probs go through any decoder config; every other head decodes its own scores
(`Head.decode`) with the options it was trained with, as the `checkpoint` decoder.

Bad input raises `EvaluationError`, whose message says what to give instead.
"""

import logging
import pickle
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from asrlab.decoders.resolve import DecoderConfigError, for_trained_run
from asrlab.model.contracts import Decoder
from asrlab.model.heads.ctc import CTCHead
from asrlab.model.module import ASRModel
from asrlab.training.checkpoint import load_model
from asrlab.training.checkpoint_contents import CheckpointError
from asrlab.trust.configs import UntrustedTargetError
from asrlab.trust.pickles import UnsafeCheckpointError

log = logging.getLogger(__name__)

# The data module's setup stage that loads each split.
SPLIT_STAGES = {"train": "fit", "val": "validate", "test": "test"}
# The `decoders` entry that stands for the decoder the run was trained with.
CHECKPOINT_DECODER = "checkpoint"


class EvaluationError(Exception):
    """Evaluation input that cannot be used, with what to do about it."""


def split_stage(split: str) -> str:
    """The data module's setup stage that loads `split`."""
    if split not in SPLIT_STAGES:
        raise EvaluationError(f"split={split}: choose one of {', '.join(SPLIT_STAGES)}")
    return SPLIT_STAGES[split]


def checkpoint_path(value: str | None) -> Path:
    if not value:
        raise EvaluationError(
            "no checkpoint given: asrlab-eval ckpt_path=RUN/checkpoints/last.ckpt "
            "(any checkpoint asrlab-train wrote)"
        )
    path = Path(value)
    if not path.is_file():
        raise EvaluationError(
            f"ckpt_path={value}: no such file; give a checkpoint in a run folder, "
            "RUN/checkpoints/*.ckpt"
        )
    return path


def load_checkpoint(path: Path) -> tuple[ASRModel, DictConfig]:
    """The checkpoint's model (eval mode) and its run's config, or an error."""
    try:
        model, run_cfg = load_model(path)
    except (CheckpointError, UnsafeCheckpointError, UntrustedTargetError) as err:  # path first
        raise EvaluationError(f"ckpt_path={err}") from err
    except (
        pickle.UnpicklingError,
        RuntimeError,
        KeyError,
        EOFError,
        OSError,
    ) as err:
        raise EvaluationError(
            f"ckpt_path={path}: cannot load its model ({type(err).__name__}: {err}); give a "
            "checkpoint asrlab-train wrote, in its run folder (RUN/checkpoints/*.ckpt)"
        ) from err
    return model, run_cfg


def data_config(cfg: DictConfig, run_cfg: DictConfig) -> DictConfig:
    """The run's config with the data to evaluate on: the run's own `data` (changed by any
    `+data.KEY=VALUE`), or a `data=OPTION` given to asrlab-eval, its interpolations resolved
    against the run's features and asrlab-eval's paths, and its audio read at the rate the
    model's frontend takes. Skipped lines (`data.on_error=skip`) are listed in asrlab-eval's run
    folder."""
    merged = run_cfg.copy()
    data = cfg.get("data")
    with open_dict(merged):
        merged.paths = cfg.paths
        if data is not None and "_target_" in data:
            merged.data = data
        elif data is not None:
            merged.data = OmegaConf.merge(run_cfg.data, data)
        merged.data.report_dir = cfg.paths.output_dir
        rate = run_cfg.features.sample_rate
        if merged.data.sample_rate != rate:
            log.info(
                "reading audio at %d Hz, the model's rate, not %d", rate, merged.data.sample_rate
            )
            merged.data.sample_rate = rate
    return merged


def decoder_configs(
    decoders: DictConfig | None, run_cfg: DictConfig, checkpoint: Path
) -> dict[str, DictConfig]:
    """Each `decoders` entry's config (partial: it takes the tokenizer); `checkpoint` is the
    run's own decoder. Its fitted parts (`lm: train`) are the run's, as for every tool
    (`asrlab.decoders.resolve.for_trained_run`); a decoder's LM file must exist."""
    if not decoders:
        raise EvaluationError(
            "no decoders: give decoders=[greedy,beam,...], or leave it out to use the "
            "checkpoint's own decoder"
        )
    configs = {}
    for name, decoder in decoders.items():
        if name == CHECKPOINT_DECODER:
            decoder = OmegaConf.merge(run_cfg.decoder, decoder)
        try:
            configs[name] = for_trained_run(decoder, f"decoders.{name}", checkpoint, run_cfg)
        except DecoderConfigError as err:
            raise EvaluationError(str(err)) from None
    return configs


def build_decoders(
    decoders: DictConfig | None, model: ASRModel, run_cfg: DictConfig, checkpoint: Path
) -> dict[str, tuple[Decoder, DictConfig]]:
    """Each `decoders` entry's decoder and config: for a CTC head, built from
    `decoder_configs`; any other head is its own and only decoder, `checkpoint`, its config the
    run's `head`."""
    if isinstance(model.head, CTCHead):
        configs = decoder_configs(decoders, run_cfg, checkpoint)
        return {name: (instantiate(c)(tokenizer=model.tokenizer), c) for name, c in configs.items()}
    head = type(model.head).__name__
    if decoders is None or set(decoders) != {CHECKPOINT_DECODER}:
        raise EvaluationError(
            f"decoders={list(decoders or [])}: a {head} head decodes its own outputs, so "
            f"decoders=[{CHECKPOINT_DECODER}] is its only choice (decoders apply to CTC heads)"
        )
    if options := list(decoders[CHECKPOINT_DECODER]):
        raise EvaluationError(
            f"decoders.{CHECKPOINT_DECODER}.{options[0]}: a {head} head decodes with the options "
            "it was trained with (head.*), which asrlab-eval does not change"
        )
    return {CHECKPOINT_DECODER: (model.head, run_cfg.head)}
