"""The decoder that turns a checkpoint's CTC log-probs into text: its own or another config's."""

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from asrlab.checkpoint import run_decoder
from asrlab.heads.ctc import CTCHead, Decoder
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
    lm = decoder.get("lm")
    if lm and not Path(lm).is_file():
        trained = Path(lm) == run_dir / "lm.arpa"
        why = "the run was not trained with decoder=beam_lm; " if trained else ""
        raise ValueError(
            f"decoder.lm={lm}: no such file ({why}give decoder.lm=FILE.arpa; asrlab-lm builds one)"
        )
    return instantiate(decoder)(tokenizer=model.tokenizer)
