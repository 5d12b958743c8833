"""The doctor's checks, on exactly what a training run with the same config would read and build.

Transcripts (coverage, CTC feasibility) and audio files always; a trained model's blank ratio
with `doctor.checkpoint`; learning one batch by heart with `doctor.overfit_steps`. The model
checks are skipped while the data has a fatal problem, since loading it would stop at that.
"""

import copy
import pickle
from pathlib import Path

import pytorch_lightning as pl
from omegaconf import DictConfig, open_dict

from asrlab.data.collate import collate
from asrlab.data.manifest import ManifestError, read_manifest
from asrlab.data.scan import ScanOptions
from asrlab.model.build import build_datamodule, build_model
from asrlab.model.heads.ctc import CTCHead
from asrlab.model.module import ASRModel
from asrlab.text.tokenizer import Tokenizer
from asrlab.tools.decoding.posteriors import compute_posteriors
from asrlab.tools.diagnose.audio import audio_check
from asrlab.tools.diagnose.blank import blank_check
from asrlab.tools.diagnose.inputs import fail, is_lhotse, prepared_manifests, scan_tokenizer
from asrlab.tools.diagnose.overfit import overfit
from asrlab.training.checkpoint import load_model
from asrlab.training.checkpoint_contents import CheckpointError
from asrlab.training.preflight.findings import Finding, worst
from asrlab.training.preflight.run import transcript_checks
from asrlab.trust.configs import UntrustedTargetError


def _model(cfg: DictConfig, manifests: dict[str, Path]) -> tuple[ASRModel, DictConfig]:
    """The model to check and its config: `doctor.checkpoint`'s, or a new one of `cfg`."""
    if path := cfg.doctor.checkpoint:
        if not Path(path).is_file():
            fail(f"doctor.checkpoint: no such file {path} (give a run's checkpoints/X.ckpt)")
        try:
            return load_model(path)
        except (pickle.UnpicklingError, CheckpointError, UntrustedTargetError) as err:
            fail(f"doctor.checkpoint={path}: cannot load its model: {err}")
    return build_model(cfg, scan_tokenizer(cfg, manifests)), cfg


def _without_augmentation(cfg: DictConfig) -> DictConfig:
    """A copy of `cfg` with both augment stages empty."""
    cfg = copy.deepcopy(cfg)
    with open_dict(cfg):
        cfg.augment = {"waveform": {}, "features": {}}
    return cfg


def _model_checks(
    cfg: DictConfig, model: ASRModel, tokenizer: Tokenizer, progress: bool
) -> list[Finding]:
    """The blank ratio of `doctor.checkpoint` and the one-batch overfit, as asked."""
    options = cfg.doctor
    datamodule = build_datamodule(cfg, tokenizer)
    datamodule.setup()
    findings = []
    if options.checkpoint and not isinstance(model.head, CTCHead):
        name = type(model.head).__name__
        findings.append(Finding("blank", "ok", f"skipped: a {name} head has no CTC blank"))
    elif options.checkpoint:
        posteriors = compute_posteriors(model, datamodule, options.blank_split)
        findings.append(
            blank_check(
                posteriors, tokenizer.blank_id, options.blank_threshold, options.blank_split
            )
        )
    if options.overfit_steps:
        train = datamodule.datasets["train"]
        batch = collate([train[i] for i in range(min(options.overfit_utterances, len(train)))])
        pl.seed_everything(cfg.seed)
        fresh = build_model(_without_augmentation(cfg), tokenizer)
        findings.append(
            overfit(
                fresh, batch, options.overfit_steps, cfg.trainer, options.overfit_loss, progress
            )
        )
    return findings


def diagnose(cfg: DictConfig, progress: bool = True) -> list[Finding]:
    """Every check the `doctor` config asks for, in order."""
    options = cfg.doctor
    if is_lhotse(cfg.data.source) and (options.audio or options.overfit_steps):
        fail(
            "asrlab-doctor data=lhotse checks the cuts' transcripts only: set doctor.audio=false "
            "and doctor.overfit_steps=0 (training checks each cut's audio as it reads it)"
        )
    pl.seed_everything(cfg.seed)
    manifests = prepared_manifests(cfg.data.source, options.splits, "doctor.splits")
    model, model_cfg = _model(cfg, manifests)
    try:
        utterances = {split: read_manifest(path) for split, path in manifests.items()}
    except ManifestError as err:
        fail(str(err))
    findings = transcript_checks(utterances, model, model_cfg.encoder, cfg.data.sample_rate)
    if options.audio:
        scan = ScanOptions(
            sample_rate=cfg.data.sample_rate,
            max_duration=options.max_duration,
            silence_dbfs=options.silence_dbfs,
        )
        findings.append(audio_check(utterances, scan, options.outlier_iqr, progress))
    if not (options.checkpoint or options.overfit_steps):
        return findings
    if worst(findings) == "fatal":
        skipped = "skipped: the model checks need data without the fatal problems above"
        return [*findings, Finding("model", "warning", skipped)]
    try:
        return findings + _model_checks(cfg, model, model.tokenizer, progress)
    except ManifestError as err:  # with doctor.audio=false, a file only loading finds bad
        fail(str(err))
