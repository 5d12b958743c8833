"""CTC beam search (torchaudio's flashlight decoder), optionally constrained to a word list and
fused with an n-gram language model."""

import contextlib
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import torch
from torchaudio.models.decoder import ctc_decoder, cuda_ctc_decoder

from asrlab.decoders.kenlm_banner import without_kenlm_banner
from asrlab.decoders.lm import WORD_BOUNDARY, arpa_vocabulary, check_arpa
from asrlab.text.bpe import BPETokenizer
from asrlab.text.tokenizer import Tokenizer

log = logging.getLogger(__name__)

BLANK, SILENCE = "-", WORD_BOUNDARY
DEVICES = ("cpu", "cuda")


def flashlight_tokens(tokenizer: Tokenizer) -> tuple[list[str], str, str]:
    """The decoder's token names (index = id), its blank and its silence token.

    Characters: blank "-" and the space "|", as character LMs spell them. BPE pieces keep their
    names; "<unk>", an output never trained as a target, serves as silence.
    """
    if isinstance(tokenizer, BPETokenizer):
        vocab = tokenizer.vocab
        return vocab, vocab[tokenizer.blank_id], vocab[tokenizer.unk_id]
    names = [BLANK if i == tokenizer.blank_id else c for i, c in enumerate(tokenizer.vocab)]
    return [SILENCE if c == " " else c for c in names], BLANK, SILENCE


@contextlib.contextmanager
def _naming(lm: str | None) -> Iterator[None]:
    """Turns the decoder's RuntimeError (KenLM's names no file) into a ValueError naming `lm`."""
    try:
        yield
    except RuntimeError as err:
        message = " ".join(str(err).split())  # KenLM's spans lines
        raise ValueError(f"cannot load lm={lm} into the beam decoder: {message}") from err


class BeamDecoder:
    """Beam search over the CTC log-probs; with `words` (or a `lexicon` file of one word per
    line) only those words can be emitted, each spelled with the tokenizer's tokens.

    `lm` is an ARPA file (`asrlab-lm` writes one) whose log10 probabilities, times `lm_weight`,
    are added to the hypotheses' scores. A word LM needs a word list: without `words` or
    `lexicon`, its unigrams are the words. A character LM (every token a single character, the
    space between words `|`, as `asrlab-lm --unit char` writes) decodes without a word list.

    `decode` gives the best transcript per utterance, `nbest` the `nbest` best with scores.

    `device="cuda"` searches on the GPU (torchaudio's `cuda_ctc_decoder`: no word list, no LM,
    no `beam_threshold`); without a CUDA device it searches on the CPU and logs why.
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        beam_size: int = 20,
        beam_threshold: float = 50.0,
        nbest: int = 1,
        words: list[str] | None = None,
        lexicon: str | None = None,
        lm: str | None = None,
        lm_weight: float = 0.5,
        word_score: float = 0.0,
        sil_score: float = 0.0,
        device: str = "cpu",
    ) -> None:
        if device not in DEVICES:
            raise ValueError(f"decoder.device must be one of {DEVICES}, got {device!r}")
        if device == "cuda" and (words or lexicon or lm):
            raise ValueError(
                "decoder.device=cuda (torchaudio's cuda_ctc_decoder) takes no words, lexicon or "
                "lm: decode those with decoder.device=cpu"
            )
        if device == "cuda" and not torch.cuda.is_available():
            log.warning("decoder.device=cuda: torch sees no CUDA device here; decoding on the CPU")
            device = "cpu"
        self.device = device
        if words and lexicon:
            raise ValueError("give decoder.words or decoder.lexicon, not both")
        if lexicon:
            words = Path(lexicon).read_text(encoding="utf-8").split()
        if lm:
            check_arpa(lm)
            lm_tokens = arpa_vocabulary(lm)
            if any(len(token) > 1 for token in lm_tokens):
                words = words or lm_tokens
            elif words:
                raise ValueError(f"{lm} is a character LM: decode it without words or lexicon")
            elif isinstance(tokenizer, BPETokenizer):
                raise ValueError(f"{lm} is a character LM; BPE models need a word LM")
        self.tokenizer = tokenizer
        self.tokens, blank, silence = flashlight_tokens(tokenizer)
        self.constrained = bool(words)
        if device == "cuda":
            self.decoder = cuda_ctc_decoder(self.tokens, nbest=nbest, beam_size=beam_size)
            return
        banner = without_kenlm_banner(lm) if lm else contextlib.nullcontext()
        with tempfile.TemporaryDirectory() as tmp, _naming(lm), banner:
            self.decoder = ctc_decoder(
                lexicon=self._write_lexicon(words, Path(tmp)) if words else None,
                tokens=self.tokens,
                lm=lm,
                lm_dict=self._write_lm_dict(Path(tmp)) if lm and not words else None,
                nbest=nbest,
                beam_size=beam_size,
                beam_threshold=beam_threshold,
                lm_weight=lm_weight,
                word_score=word_score,
                sil_score=sil_score,
                blank_token=blank,
                sil_token=silence,
            )

    def _write_lexicon(self, words: list[str], folder: Path) -> str:
        """The flashlight lexicon: each word, then its spelling (the space between words is the
        silence token, which the decoder inserts; our models do not emit one after a word)."""
        normalized = {w for text in words for w in self.tokenizer.normalize(text).split()}
        lines = [f"{w} {' '.join(self.tokenizer.spell(w))}\n" for w in sorted(normalized)]
        path = folder / "lexicon.txt"
        path.write_text("".join(lines), encoding="utf-8")
        return str(path)

    def _write_lm_dict(self, folder: Path) -> str:
        """The tokens, one a line: a character LM is queried with token ids, and without this
        file torchaudio numbers its words in hash order, so the LM would score other tokens."""
        path = folder / "lm_dict.txt"
        path.write_text("".join(f"{token}\n" for token in self.tokens), encoding="utf-8")
        return str(path)

    def _text(self, hypothesis) -> str:
        if self.constrained:
            return " ".join(hypothesis.words)
        ids = torch.as_tensor(hypothesis.tokens).tolist()  # cuda_ctc_decoder gives a list
        return " ".join(self.tokenizer.decode(ids).split())

    def nbest(
        self, log_probs: torch.Tensor, lengths: torch.Tensor
    ) -> list[list[tuple[str, float]]]:
        """log_probs (B, T, V), lengths (B,) -> per utterance, (transcript, score) best first."""
        device = torch.device(self.device)
        log_probs = log_probs.detach().float().to(device).contiguous()
        results = self.decoder(log_probs, lengths.to(device).int())
        return [[(self._text(h), h.score) for h in hypotheses] for hypotheses in results]

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[str]:
        """log_probs (B, T, V), lengths (B,) -> the best transcript per utterance."""
        return [
            hypotheses[0][0] if hypotheses else "" for hypotheses in self.nbest(log_probs, lengths)
        ]
