"""The decoder that turns a checkpoint's CTC log-probs into text: its own or another config's."""

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from asrlab.checkpoint import missing_lm
from asrlab.heads.ctc import CTCHead, Decoder
from asrlab.logprob_cache import with_training_lm
from asrlab.module import ASRModel


def choose_decoder(
    model: ASRModel, decoder: DictConfig | None, checkpoint: Path, run_cfg: DictConfig
) -> Decoder:
    """The model's own decoder, or the `decoder` config (partial, as in training) built with its
    tokenizer; `lm: train` means the LM of the run's training transcripts, as in asrlab-eval and
    asrlab-decode (`with_training_lm`)."""
    if not isinstance(model.head, CTCHead):
        raise ValueError(
            f"transcribing needs a CTC model; this checkpoint's head is a "
            f"{type(model.head).__name__} (head=ctc when training)"
        )
    if decoder is None:
        return model.head.decoder
    decoder = with_training_lm(decoder, checkpoint, run_cfg)
    if problem := missing_lm(decoder, checkpoint.parent.parent, "decoder.lm"):
        raise ValueError(problem)
    return instantiate(decoder)(tokenizer=model.tokenizer)
