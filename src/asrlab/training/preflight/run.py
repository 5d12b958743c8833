"""The pre-flight of `asrlab-train`: tokenizer coverage and CTC feasibility of every split, from
the manifests alone (no audio is read), before the data module checks a line.

`preflight: warn` (the default) logs each problem with its list, `error` stops the run with them,
`off` skips it.
"""

import logging
import time

from omegaconf import DictConfig

from asrlab.data.datamodule import ASRDataModule
from asrlab.data.manifest import Utterance, read_manifest
from asrlab.model.module import ASRModel
from asrlab.training.preflight.coverage import coverage
from asrlab.training.preflight.feasibility import feasibility, stride_setting
from asrlab.training.preflight.findings import Finding, describe

log = logging.getLogger(__name__)

MODES = ("warn", "error", "off")
MAX_ROWS = 10
"""Offending items listed per problem (asrlab-doctor's report lists them all)."""
CHECKED = {"coverage": "encodable", "feasibility": "CTC-feasible"}


class PreflightError(ValueError):
    """Raised with `preflight: error` when the pre-flight finds a fatal problem."""


def transcript_checks(
    utterances: dict[str, list[Utterance]],
    model: ASRModel,
    encoder: DictConfig,
    sample_rate: int,
) -> list[Finding]:
    """Coverage of every transcript by the model's tokenizer and, where the head's loss has a
    CTC part (`ctc_weight` > 0), feasibility at its frontend and stride (`encoder` is the
    model's encoder config; audio at `sample_rate`)."""
    findings = [coverage(utterances, model.tokenizer)]
    if model.head.ctc_weight > 0:
        stride_key = stride_setting(model.encoder, encoder)
        findings.append(feasibility(utterances, model, sample_rate, stride_key))
    return findings


def preflight(cfg: DictConfig, datamodule: ASRDataModule, model: ASRModel) -> list[Finding]:
    """Runs the transcript checks on the data module's manifests as `cfg.preflight` says;
    returns the findings, raises PreflightError on a fatal one with `preflight: error`."""
    mode = cfg.get("preflight", "warn")
    if mode not in MODES:
        raise ValueError(f"preflight must be one of {MODES}, got {mode!r}")
    if mode == "off":
        return []
    start = time.perf_counter()
    manifests = datamodule.source.prepare()
    # Lines that do not parse are the data module's to skip (and count) with data.on_error=skip.
    skip = datamodule.on_error == "skip"
    utterances = {
        split: read_manifest(path, [] if skip else None) for split, path in manifests.items()
    }
    findings = transcript_checks(utterances, model, cfg.encoder, datamodule.sample_rate)
    problems = [describe(f, MAX_ROWS) for f in findings if f.severity != "ok"]
    elapsed = time.perf_counter() - start
    if not problems:
        checked = " and ".join(CHECKED[f.check] for f in findings)
        log.info("pre-flight: transcripts %s (%.2f s)", checked, elapsed)
        return findings
    advice = (
        "asrlab-doctor with the same overrides writes the full report; "
        f"preflight=off skips this check (preflight={mode} now)"
    )
    message = "pre-flight found problems:\n" + "\n".join(problems) + f"\n({advice})"
    if mode == "error" and any(f.severity == "fatal" for f in findings):
        raise PreflightError(message)
    log.warning(message)
    return findings
