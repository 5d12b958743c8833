"""Sentencepiece BPE tokenizer: word pieces instead of characters. CTC blank is id 0.

Ids are sentencepiece's own. `BPETokenizer.train` reserves them so: its padding piece, renamed
"<blank>", is id 0 (a control piece, which encoding never yields), "<unk>" is id 1 (never
yielded either: `encode` refuses characters the model lacks), and there is no bos or eos. The
model's output layer thus has one class that is never a target, <unk>: flashlight's beam search
can use it as its silence token, and `decode` drops it. Sentencepiece normalises nothing itself
("identity"), so it sees exactly the text of `normalize_text`, the char tokenizer's.
"""

import base64
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sentencepiece as spm

from asrlab.text.tokenizer import BLANK, AlphabetTokenizer, normalize_text

UNK = "<unk>"
BOUNDARY = "▁"  # sentencepiece's mark of a word start; it stands for the space before the word
MODEL_FILE = "tokenizer.model"


class BPETokenizer(AlphabetTokenizer):
    """Sentencepiece BPE pieces of the normalised text; `vocab[i]` is the piece of id i."""

    unk_id = 1

    def __init__(self, model: bytes) -> None:
        """`model`: a serialized sentencepiece model made by `train` (a tokenizer.model file)."""
        self.model = model
        try:
            self._sp = spm.SentencePieceProcessor(model_proto=model)
        except RuntimeError as err:
            raise ValueError(f"not a sentencepiece model ({len(model)} bytes): {err}") from err
        self.vocab = [self._sp.id_to_piece(i) for i in range(self._sp.vocab_size())]
        special = self._sp.is_control(self.blank_id) and self._sp.is_unknown(self.unk_id)
        if self.vocab[:2] != [BLANK, UNK] or not special:
            raise ValueError(
                f"not a model made by BPETokenizer.train: ids 0 and 1 must be {BLANK} and {UNK}, "
                f"got {self.vocab[:2]}"
            )
        chars = {p.replace(BOUNDARY, " ") for p in self.vocab[2:] if len(p) == 1}
        self.alphabet = "".join(sorted(chars))

    @classmethod
    def train(
        cls, texts: Iterable[str], vocab_size: int, model_dir: str | Path | None = None
    ) -> "BPETokenizer":
        """Learn at most `vocab_size` pieces (blank and unk included) from the normalised texts,
        keeping every character; with `model_dir`, save tokenizer.model there."""
        sentences = [s for s in map(normalize_text, texts) if s]
        if not sentences:
            raise ValueError("no transcripts to train the BPE tokenizer on")
        needed = len(set("".join(sentences)) | {" "}) + 2
        if vocab_size < needed:
            raise ValueError(
                f"tokenizer vocab_size={vocab_size} is too small: the transcripts have "
                f"{needed - 2} distinct characters (space included), plus {BLANK} and {UNK}; "
                f"use at least {needed}"
            )
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=model,
            model_type="bpe",
            vocab_size=vocab_size,
            hard_vocab_limit=False,  # a small text may not support vocab_size pieces
            character_coverage=1.0,
            normalization_rule_name="identity",
            pad_id=cls.blank_id,
            pad_piece=BLANK,
            unk_id=cls.unk_id,
            unk_piece=UNK,
            bos_id=-1,
            eos_id=-1,
            num_threads=1,
            minloglevel=1,
        )
        tokenizer = cls(model.getvalue())
        if model_dir is not None:
            tokenizer.save(model_dir)
        return tokenizer

    def encode(self, text: str) -> list[int]:
        """Normalise and split into piece ids; raises ValueError naming unencodable characters."""
        return self._sp.encode(self.encodable(text))

    def decode(self, ids: list[int]) -> str:
        """Ids to text; blanks and <unk> are dropped (CTC collapsing is the decoder's job)."""
        text = "".join(self.vocab[i] for i in ids if i not in (self.blank_id, self.unk_id))
        return " ".join(text.replace(BOUNDARY, " ").split())

    def spell(self, word: str) -> list[str]:
        """The pieces of one word, as `encode` splits it in any sentence: a lexicon's spelling."""
        if len(self.normalize(word).split()) != 1:
            raise ValueError(f"{word!r} is not one word once normalised")
        return [self.vocab[i] for i in self.encode(word)]

    def save(self, folder: str | Path) -> Path:
        """Write the sentencepiece model as `folder`/tokenizer.model; returns its path."""
        path = Path(folder) / MODEL_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.model)
        return path

    def state_dict(self) -> dict:
        """The model as base64 text, which JSON, YAML and weights-only torch.load all keep."""
        return {"type": "bpe", "model": base64.b64encode(self.model).decode("ascii")}

    @classmethod
    def from_state_dict(cls, state: dict) -> "BPETokenizer":
        """Raises ValueError when the saved model is not base64 of a model `train` made."""
        try:
            return cls(base64.b64decode(state["model"], validate=True))
        except ValueError as err:  # binascii.Error is one
            raise ValueError(f"the saved BPE tokenizer is unusable: {err}") from err


@dataclass(frozen=True)
class BPETokenizerSpec:
    """A BPE tokenizer before the training transcripts are known (what `tokenizer=bpe` builds);
    the entry point turns it into a tokenizer with `train`."""

    vocab_size: int = 64

    def train(self, texts: Iterable[str], model_dir: str | Path | None = None) -> BPETokenizer:
        return BPETokenizer.train(texts, self.vocab_size, model_dir)
