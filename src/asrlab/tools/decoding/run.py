"""asrlab-decode: a checkpoint's cached head scores on one split -> a search -> metrics.json.

A CTC head's scores are log-probs, decoded by the `decoder` config; any other head's (the
projected encoder states its search reads) are decoded by the head itself, with the `search`
settings (`asrlab.tools.decoding.search`). The acoustic model runs only when the cache lacks the
checkpoint's scores on the split (see `asrlab.tools.decoding.cache`), so sweeps over
`decoder.*`, `search.*` and `lm.*` cost decoding alone. Returns the optimised metric
(`<split>_wer`), so Hydra sweepers can minimise it.
"""

import json
import logging
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from asrlab.decoders.resolve import DecoderConfigError, for_trained_run
from asrlab.model.build import build_datamodule, build_loggers
from asrlab.model.contracts import Decoder, Head
from asrlab.model.heads.ctc import CTCHead
from asrlab.model.module import ASRModel
from asrlab.tools.decoding.cache import cached_posteriors, run_cache_dir
from asrlab.tools.decoding.posteriors import Posteriors, compute_posteriors
from asrlab.tools.decoding.search import given, searching_head
from asrlab.tools.evaluation.inputs import (
    EvaluationError,
    checkpoint_path,
    load_checkpoint,
    split_stage,
)
from asrlab.tools.evaluation.run import decode as decode_posteriors
from asrlab.training.loggers import ending_runs, log_summary
from asrlab.training.run_info import run_info, write_run_info
from asrlab.training.threads import set_threads

log = logging.getLogger(__name__)


def _compute(model: ASRModel, run_cfg: DictConfig, split: str, report_dir: Path) -> Posteriors:
    """Runs the model over the split of its run's data config."""
    # Skipped manifest lines (data.on_error=skip) are listed here, not in the training run.
    run_cfg = OmegaConf.merge(run_cfg, {"data": {"report_dir": str(report_dir)}})
    datamodule = build_datamodule(run_cfg, model.tokenizer)
    datamodule.setup(split_stage(split))
    return compute_posteriors(model, datamodule, split)


def decode(cfg: DictConfig) -> dict[str, Any]:
    """Decode one split, a CTC head's log-probs with `cfg.decoder`, any other head's cached
    scores with its own search (`cfg.search` changes its settings); writes run_info.json,
    metrics.json (`<split>_wer`, `_cer`, `_acc`, the decode real-time factor, the settings) and
    the hparams tab into the run folder."""
    run_dir = Path(cfg.paths.output_dir)
    info = run_info(seed=None, threads_origin=set_threads(cfg.get("threads")))
    write_run_info(run_dir, info)
    split_stage(cfg.split)  # a bad split fails here, before the checkpoint is read
    checkpoint = checkpoint_path(cfg.ckpt_path)
    model, run_cfg = load_checkpoint(checkpoint)
    cache_dir = Path(cfg.cache_dir or run_cache_dir(checkpoint))
    decoder, settings = _decoder(cfg, model, run_cfg, checkpoint, cache_dir)
    posteriors, logprobs, computed = cached_posteriors(
        cache_dir,
        checkpoint,
        cfg.split,
        run_cfg,
        lambda: _compute(model, run_cfg, cfg.split, run_dir),
    )
    lm = Path(settings.lm) if settings.get("lm") else None
    result = decode_posteriors("decoder", decoder, settings, posteriors)

    metrics = {
        **{f"{cfg.split}_{name}": value for name, value in result.metrics.items()},
        "decode_rtf": result.rtf,
        "decode_seconds": round(result.decode_seconds, 3),
        "audio_seconds": round(result.audio_seconds, 2),
        "utterances": len(posteriors),
        "checkpoint": str(checkpoint.resolve()),
        "logprobs": str(logprobs.resolve()),
        "logprobs_computed": computed,
        "lm": str(lm.resolve()) if lm else None,
        "settings": result.config,
        **info,
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    _log_hparams(cfg, metrics)
    log.info(
        "%s WER %.2f%%, CER %.2f%%, decode RTF %.4f; run folder: %s",
        cfg.split,
        100 * result.metrics["wer"],
        100 * result.metrics["cer"],
        result.rtf,
        run_dir,
    )
    return metrics


def _decoder(
    cfg: DictConfig, model: ASRModel, run_cfg: DictConfig, checkpoint: Path, cache_dir: Path
) -> tuple[Decoder | Head, DictConfig]:
    """What decodes the cached scores, and its settings: for a CTC head, the `decoder` config
    (its `lm: train` resolved); for any other, the head with the `search` settings."""
    settings = given(cfg.get("search"))
    if not isinstance(model.head, CTCHead):
        return searching_head(model, run_cfg, settings, checkpoint, cfg.lm, cache_dir)
    if settings:
        raise EvaluationError(
            f"search.{next(iter(settings))}: a CTC head's log-probs go through `decoder` "
            "(e.g. decoder=beam decoder.beam_size=8); `search` sets the search of the other heads"
        )
    try:
        decoder = for_trained_run(cfg.decoder, "decoder", checkpoint, run_cfg, cfg.lm, cache_dir)
    except DecoderConfigError as err:
        raise EvaluationError(str(err)) from None
    return instantiate(decoder)(tokenizer=model.tokenizer), decoder


def _log_hparams(cfg: DictConfig, metrics: dict[str, Any]) -> None:
    """The decoder settings and the scores, to every logger (as training runs)."""
    params: dict[str, Any] = {
        "decoder": metrics["settings"],
        "split": cfg.split,
        "checkpoint": metrics["checkpoint"],
    }
    if metrics["lm"]:
        params["lm"] = OmegaConf.to_container(cfg.lm, resolve=True)
    names = [f"{cfg.split}_{name}" for name in ("wer", "cer", "acc")] + ["decode_rtf"]
    scores = {f"hp/{name}": metrics[name] for name in names}
    with ending_runs():
        log_summary(build_loggers(cfg), params, scores, step=0)
