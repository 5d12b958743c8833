"""Character tokenizer with text normalisation. CTC blank is id 0."""

import re
import unicodedata
from typing import Protocol

BLANK = "<blank>"
_DROP = re.compile(r"[.,!?;:\"()\[\]{}…“”«»]")
_TO_SPACE = re.compile(r"[-_/—–]")
_APOSTROPHES = re.compile(r"[’‘`´]")


def normalize_text(text: str) -> str:
    """Lower-case, strip accents, map dashes to spaces, drop punctuation, collapse spaces.

    Characters it does not know are kept, so that the tokenizer can report them.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    text = _APOSTROPHES.sub("'", text.lower())
    text = _TO_SPACE.sub(" ", text)
    text = _DROP.sub("", text)
    return " ".join(text.split())


class Tokenizer(Protocol):
    """What every tokenizer offers: text <-> ids, with the CTC blank at `blank_id` (0)."""

    blank_id: int
    vocab: list[str]

    @property
    def vocab_size(self) -> int: ...

    def normalize(self, text: str) -> str: ...

    def unknown_chars(self, text: str, normalized: bool = False) -> set[str]: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...

    def spell(self, word: str) -> list[str]: ...

    def state_dict(self) -> dict: ...


class AlphabetTokenizer:
    """What the tokenizers share: the text normalisation, and refusing characters outside
    `alphabet` (the characters it can encode) with a clear error. Id 0 is the CTC blank."""

    blank_id = 0
    alphabet: str
    vocab: list[str]

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def normalize(self, text: str) -> str:
        return normalize_text(text)

    def unknown_chars(self, text: str, normalized: bool = False) -> set[str]:
        """Characters of the (normalised) text that cannot be encoded."""
        return set(text if normalized else self.normalize(text)).difference(self.alphabet)

    def encodable(self, text: str) -> str:
        """The normalised text; raises ValueError naming any characters it cannot encode."""
        norm = self.normalize(text)
        if unknown := self.unknown_chars(norm, normalized=True):
            raise ValueError(
                f"characters {sorted(unknown)!r} in {norm!r} are not in the tokenizer's "
                f"alphabet {self.alphabet!r}"
            )
        return norm


class CharTokenizer(AlphabetTokenizer):
    """Letters, apostrophe and space; id 0 is the CTC blank."""

    def __init__(self, alphabet: str = "abcdefghijklmnopqrstuvwxyz' ") -> None:
        if len(set(alphabet)) != len(alphabet):
            raise ValueError(f"tokenizer alphabet has repeated characters: {alphabet!r}")
        self.alphabet = alphabet
        self.vocab = [BLANK, *alphabet]
        self._ids = {c: i for i, c in enumerate(self.vocab) if i > 0}

    def encode(self, text: str) -> list[int]:
        """Normalise and map to ids; raises ValueError naming any unencodable characters."""
        return [self._ids[c] for c in self.encodable(text)]

    def decode(self, ids: list[int]) -> str:
        """Ids to text; blanks are dropped (CTC collapsing is the decoder's job)."""
        return "".join(self.vocab[i] for i in ids if i != self.blank_id)

    def spell(self, word: str) -> list[str]:
        """The tokens of one normalised word (a lexicon line's spelling)."""
        self.encode(word)  # fails clearly on characters it cannot spell
        return list(word)

    def state_dict(self) -> dict:
        return {"type": "char", "alphabet": self.alphabet}

    @classmethod
    def from_state_dict(cls, state: dict) -> "CharTokenizer":
        return cls(alphabet=state["alphabet"])


def tokenizer_from_state_dict(state: dict) -> Tokenizer:
    """The tokenizer that `state_dict()` saved (in a checkpoint), of whichever type it is."""
    if state["type"] == "char":
        return CharTokenizer.from_state_dict(state)
    if state["type"] == "bpe":
        from asrlab.text.bpe import BPETokenizer  # bpe.py imports this module

        return BPETokenizer.from_state_dict(state)
    raise ValueError(f"unknown tokenizer type {state['type']!r} (expected 'char' or 'bpe')")
