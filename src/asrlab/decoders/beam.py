"""CTC beam search (torchaudio's flashlight decoder), optionally constrained to a word list."""

import tempfile
from pathlib import Path

import torch
from torchaudio.models.decoder import ctc_decoder

from asrlab.data.tokenizer import CharTokenizer

BLANK, SILENCE = "-", "|"


class BeamDecoder:
    """Beam search over the CTC log-probs; with `words` (or a `lexicon` file of one word per
    line) only those words can be emitted, each spelled with the tokenizer's characters.

    `decode` gives the best transcript per utterance, `nbest` the `nbest` best with scores.
    """

    def __init__(
        self,
        tokenizer: CharTokenizer,
        beam_size: int = 20,
        beam_threshold: float = 50.0,
        nbest: int = 1,
        words: list[str] | None = None,
        lexicon: str | None = None,
        word_score: float = 0.0,
        sil_score: float = 0.0,
    ) -> None:
        if words and lexicon:
            raise ValueError("give decoder.words or decoder.lexicon, not both")
        if lexicon:
            words = Path(lexicon).read_text(encoding="utf-8").split()
        self.tokenizer = tokenizer
        tokens = [BLANK if i == tokenizer.blank_id else c for i, c in enumerate(tokenizer.vocab)]
        self.tokens = [SILENCE if c == " " else c for c in tokens]
        self.constrained = bool(words)
        with tempfile.TemporaryDirectory() as tmp:
            self.decoder = ctc_decoder(
                lexicon=self._write_lexicon(words, Path(tmp)) if words else None,
                tokens=self.tokens,
                nbest=nbest,
                beam_size=beam_size,
                beam_threshold=beam_threshold,
                word_score=word_score,
                sil_score=sil_score,
                blank_token=BLANK,
                sil_token=SILENCE,
            )

    def _write_lexicon(self, words: list[str], folder: Path) -> str:
        """The flashlight lexicon: each word, then its spelling (the space between words is the
        silence token, which the decoder inserts; our models do not emit one after a word)."""
        lines = []
        for word in sorted({self.tokenizer.normalize(w) for w in words}):
            self.tokenizer.encode(word)  # fails clearly on characters it cannot spell
            lines.append(f"{word} {' '.join(word)}\n")
        path = folder / "lexicon.txt"
        path.write_text("".join(lines), encoding="utf-8")
        return str(path)

    def _text(self, hypothesis) -> str:
        if self.constrained:
            return " ".join(hypothesis.words)
        chars = (self.tokens[i] for i in hypothesis.tokens.tolist())
        text = "".join(" " if c == SILENCE else c for c in chars if c != BLANK)
        return " ".join(text.split())

    def nbest(
        self, log_probs: torch.Tensor, lengths: torch.Tensor
    ) -> list[list[tuple[str, float]]]:
        """log_probs (B, T, V), lengths (B,) -> per utterance, (transcript, score) best first."""
        results = self.decoder(log_probs.detach().float().cpu(), lengths.cpu().int())
        return [[(self._text(h), h.score) for h in hypotheses] for hypotheses in results]

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[str]:
        """log_probs (B, T, V), lengths (B,) -> the best transcript per utterance."""
        return [
            hypotheses[0][0] if hypotheses else "" for hypotheses in self.nbest(log_probs, lengths)
        ]
