"""The decoder that turns a checkpoint's CTC log-probs into text: its own or another config's."""

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from asrlab.checkpoint import missing_lm, run_decoder
from asrlab.contracts import Decoder
from asrlab.heads.ctc import CTCHead
from asrlab.module import ASRModel


def choose_decoder(model: ASRModel, decoder: DictConfig | None, run_dir: Path) -> Decoder:
    """The model's own decoder, or the `decoder` config (partial, as in training) built with its
    tokenizer; `lm: train` means the LM that training estimated, `run_dir`/lm.arpa."""
    if not isinstance(model.head, CTCHead):
        raise ValueError(
            f"transcribing needs a CTC model; this checkpoint's head is a "
            f"{type(model.head).__name__} (head=ctc when training)"
        )
    if decoder is None:
        return model.head.decoder
    decoder = run_decoder(decoder, run_dir)
    if problem := missing_lm(decoder, run_dir, "decoder.lm"):
        raise ValueError(problem)
    return instantiate(decoder)(tokenizer=model.tokenizer)
