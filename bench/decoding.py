"""Decoders compared on one trained model's test log-probs: real-time factor and WER.

The acoustic model runs once over the run's test split; greedy, beam and beam with an n-gram
LM (estimated from the run's training transcripts) then decode the same log-probs. Real-time
factor = decode seconds / audio seconds. Writes bench/results/decoding-NAME.json per run folder.

    python bench/decoding.py RUN_DIR [RUN_DIR ...] [--lm-order 3] [--lm-weight 0.5]
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from torchmetrics.text import WordErrorRate

from asrlab.build import build_datamodule, training_texts
from asrlab.checkpoint import load_model
from asrlab.decoders.beam import BeamDecoder
from asrlab.decoders.greedy import GreedyDecoder
from asrlab.decoders.lm import build_arpa
from common import write_result


@torch.no_grad()
def test_log_probs(run_dir: Path) -> tuple[list, list[str], float, object, object]:
    """(log-probs and lengths per batch, references, audio seconds, tokenizer, config)."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    model, cfg = load_model(run_dir / metrics["best_checkpoint"])
    datamodule = build_datamodule(cfg, model.tokenizer)
    datamodule.setup("test")
    batches, refs = [], []
    for batch in datamodule.test_dataloader():
        batches.append(model(batch.waves, batch.wave_lengths))
        refs += batch.texts
    seconds = sum(u.duration for u in datamodule.datasets["test"].utterances)
    return batches, refs, seconds, model.tokenizer, cfg


def evaluate(decoder, batches: list, refs: list[str], seconds: float) -> dict:
    start = time.perf_counter()
    hyps = [h for log_probs, lengths in batches for h in decoder.decode(log_probs, lengths)]
    elapsed = time.perf_counter() - start
    wer = float(WordErrorRate()(hyps, refs))
    return {"wer": round(wer, 4), "rtf": round(elapsed / seconds, 5), "seconds": round(elapsed, 2)}


def main(args: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--lm-order", type=int, default=3)
    parser.add_argument("--lm-weight", type=float, default=0.5)
    parser.add_argument("--beam-size", type=int, default=20)
    options = parser.parse_args(args)
    for run_dir in options.runs:
        batches, refs, seconds, tokenizer, cfg = test_log_probs(run_dir)
        with tempfile.TemporaryDirectory() as tmp:
            lm = build_arpa(training_texts(cfg), Path(tmp) / "lm.arpa", order=options.lm_order)
            decoders = {
                "greedy": GreedyDecoder(tokenizer),
                "beam": BeamDecoder(tokenizer, beam_size=options.beam_size),
                "beam_lm": BeamDecoder(
                    tokenizer,
                    beam_size=options.beam_size,
                    lm=str(Path(tmp) / "lm.arpa"),
                    lm_weight=options.lm_weight,
                ),
            }
            results = {name: evaluate(d, batches, refs, seconds) for name, d in decoders.items()}
        write_result(
            f"decoding-{run_dir.name}",
            {
                "run": run_dir.name,
                "encoder": cfg.encoder._target_.rsplit(".", 1)[-1],
                "test_utterances": len(refs),
                "test_audio_seconds": round(seconds, 1),
                "lm": {"order": lm.order, "unit": "word", "weight": options.lm_weight},
                "decoders": results,
                "beam_lm_not_worse_than_greedy": results["beam_lm"]["wer"]
                <= results["greedy"]["wer"],
            },
        )


if __name__ == "__main__":
    main(sys.argv[1:])
