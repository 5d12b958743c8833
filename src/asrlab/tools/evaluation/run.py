"""Evaluate a checkpoint: its head's scores on a split, once; each decoder over them; the files."""

import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from asrlab.model.build import build_datamodule
from asrlab.model.contracts import Decoder
from asrlab.model.metrics import text_scores
from asrlab.tools.decoding.posteriors import Posteriors, compute_posteriors
from asrlab.tools.evaluation.inputs import (
    build_decoders,
    checkpoint_path,
    data_config,
    load_checkpoint,
    split_stage,
)
from asrlab.tools.evaluation.report import render_report
from asrlab.tools.evaluation.results import DecoderResult, Evaluation
from asrlab.tools.evaluation.scoring import score_utterance

log = logging.getLogger(__name__)


def decode(
    name: str, decoder: Decoder, config: DictConfig, posteriors: Posteriors
) -> DecoderResult:
    """`decoder`'s hypotheses for `posteriors`, scored, with its `config` for the record;
    decoding alone is timed."""
    start = time.perf_counter()
    with torch.inference_mode():
        hyps = [hyp for batch in posteriors.batches() for hyp in decoder.decode(*batch)]
    seconds = time.perf_counter() - start
    utterances = zip(posteriors.ids, posteriors.texts, hyps, strict=True)
    return DecoderResult(
        name=name,
        config=OmegaConf.to_container(config, resolve=True),
        scores=[score_utterance(*utterance) for utterance in utterances],
        metrics=text_scores(hyps, posteriors.texts),
        decode_seconds=seconds,
        audio_seconds=sum(posteriors.seconds),
    )


def write_outputs(evaluation: Evaluation, out_dir: Path, top: int, worst: int) -> None:
    """metrics.json, confusions.json (the `top` of each kind per decoder), one
    utterances/<decoder>.jsonl per decoder, and report.md."""
    (out_dir / "utterances").mkdir(parents=True, exist_ok=True)
    for result in evaluation.results:
        lines = [json.dumps(score.record(), ensure_ascii=False) for score in result.scores]
        path = out_dir / "utterances" / f"{result.name}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    confusions = {result.name: result.confusions().top(top) for result in evaluation.results}
    for name, content in [("metrics.json", evaluation.metrics()), ("confusions.json", confusions)]:
        text = json.dumps(content, indent=2, ensure_ascii=False)
        (out_dir / name).write_text(text + "\n", encoding="utf-8")
    report = render_report(evaluation, top, worst)
    (out_dir / "report.md").write_text(report, encoding="utf-8")


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Evaluates `cfg.ckpt_path` on `cfg.split` with each of `cfg.decoders`, writes the outputs
    into the run folder (`paths.output_dir`) and returns metrics.json's content."""
    out_dir = Path(cfg.paths.output_dir)
    stage = split_stage(cfg.split)
    checkpoint = checkpoint_path(cfg.ckpt_path)
    model, run_cfg = load_checkpoint(checkpoint)
    decoders = build_decoders(cfg.get("decoders"), model, run_cfg, checkpoint)
    datamodule = build_datamodule(data_config(cfg, run_cfg), model.tokenizer)
    datamodule.setup(stage)

    start = time.perf_counter()
    posteriors = compute_posteriors(model, datamodule, cfg.split)
    acoustic_seconds = time.perf_counter() - start
    results = [
        decode(name, decoder, config, posteriors) for name, (decoder, config) in decoders.items()
    ]
    evaluation = Evaluation(
        checkpoint=checkpoint.resolve(),
        split=cfg.split,
        utterances=len(posteriors),
        skipped=datamodule.skipped.get(cfg.split, 0),
        audio_seconds=sum(posteriors.seconds),
        acoustic_seconds=acoustic_seconds,
        results=results,
    )
    write_outputs(evaluation, out_dir, cfg.report.top, cfg.report.worst)
    for result in results:
        log.info(
            "%s: WER %.2f%%, CER %.2f%%, exact %.1f%% on %d %s utterances, decode RTF %.4f",
            result.name,
            100 * result.metrics["wer"],
            100 * result.metrics["cer"],
            100 * result.metrics["acc"],
            len(result.scores),
            cfg.split,
            result.rtf,
        )
    log.info("report: %s", out_dir / "report.md")
    return evaluation.metrics()
