"""N-gram language models: interpolated modified Kneser-Ney estimation and ARPA files.

Estimation follows Chen & Goodman (1998), as KenLM's lmplz does:
- each sentence is `<s> t1 ... tn </s>`; the highest order uses raw counts, lower orders the
  continuation count N1+(. g) (how many distinct tokens precede g), except n-grams starting
  with `<s>`, which cannot be extended to the left and keep their raw counts;
- per order, three discounts from the count-of-counts n1..n4 of those counts:
  Y = n1 / (n1 + 2 n2), D1 = 1 - 2Y n2/n1, D2 = 2 - 3Y n3/n2, D3+ = 3 - 4Y n4/n3
  (or FALLBACK_DISCOUNTS where the text is too small for them, see `discounts`);
- p(w|h) = (c(hw) - D(c(hw))) / c(h.) + gamma(h) p(w|h'), where h' drops the oldest token,
  c(h.) sums c(hw) over w, gamma(h) = (D1 N1(h.) + D2 N2(h.) + D3+ N3+(h.)) / c(h.) with Nk(h.)
  the number of tokens w with c(hw) = k (3 or more for N3+), and unigrams are interpolated with
  the uniform distribution over the vocabulary (every token seen, `</s>` and `<unk>`; not `<s>`,
  which is never predicted).

The ARPA file holds log10 p(w|h) for every n-gram seen and log10 gamma(h) as the backoff weight of
every history, so reading it back with the usual backoff rule gives exactly this model.

Tokens are words (`unit="word"`) or characters (`unit="char"`), where the space between words is
the token `|`, the beam decoder's silence token.
"""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from asrlab.text.tokenizer import normalize_text

Unit = Literal["word", "char"]
NGram = tuple[str, ...]

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
WORD_BOUNDARY = "|"
# KenLM's `--discount_fallback` values.
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)
# log10 of probability zero, as SRILM and KenLM write it for `<s>`.
LOG10_ZERO = -99.0


def tokenize(text: str, unit: Unit) -> list[str]:
    """Normalised text -> its tokens: words, or characters with `|` between words."""
    text = normalize_text(text)
    if unit == "word":
        return text.split()
    if unit == "char":
        return list(text.replace(" ", WORD_BOUNDARY))
    raise ValueError(f"unit must be 'word' or 'char', not {unit!r}")


def discounts(count_of_counts: Sequence[int]) -> tuple[float, float, float]:
    """(n1, n2, n3, n4), how many n-grams have count 1 .. 4 -> (D1, D2, D3+).

    Chen & Goodman's estimates, or FALLBACK_DISCOUNTS (0.5, 1, 1.5) when a count-of-count is zero
    (tiny texts) or an estimate falls outside 0 < Dk < k, the range where every seen n-gram keeps
    some probability and every history some backoff mass.
    """
    n1, n2, n3, n4 = count_of_counts
    if min(n1, n2, n3, n4) == 0:
        return FALLBACK_DISCOUNTS
    y = n1 / (n1 + 2 * n2)
    estimate = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    if all(0 < d < k for k, d in enumerate(estimate, start=1)):
        return estimate
    return FALLBACK_DISCOUNTS


def kneser_ney_counts(sentences: Iterable[Sequence[str]], order: int) -> list[Counter[NGram]]:
    """Token sequences (without `<s>`, `</s>`) -> the count of each n-gram seen, one Counter per
    order (index n - 1): raw counts for the highest order, continuation counts below."""
    if order < 1:
        raise ValueError(f"order must be at least 1, not {order}")
    top: Counter[NGram] = Counter()
    starts: list[Counter[NGram]] = [Counter() for _ in range(order - 1)]
    for tokens in sentences:
        padded = [BOS, *tokens, EOS]
        top.update(zip(*(padded[i:] for i in range(order)), strict=False))
        for n in range(1, min(order - 1, len(padded)) + 1):
            starts[n - 1][tuple(padded[:n])] += 1
    counts = [top]
    for start_counts in reversed(starts):
        lower = Counter(g[1:] for g in counts[0])
        lower.update(start_counts)
        counts.insert(0, lower)
    return counts


@dataclass
class NGramModel:
    """A backoff n-gram model: `log10_probs[n - 1]` maps each n-gram h + (w,) to log10 p(w|h),
    `log10_backoffs[n - 1]` each n-gram that is the history of a longer one to its log10 weight."""

    log10_probs: list[dict[NGram, float]]
    log10_backoffs: list[dict[NGram, float]]

    @property
    def order(self) -> int:
        return len(self.log10_probs)

    @property
    def counts(self) -> list[int]:
        """The number of n-grams of each order."""
        return [len(p) for p in self.log10_probs]

    @property
    def vocab(self) -> list[str]:
        """The unigrams, `<s>`, `</s>` and `<unk>` included."""
        return [g[0] for g in self.log10_probs[0]]

    def log10_prob(self, word: str, history: Sequence[str] = ()) -> float:
        """log10 p(word | history) by the ARPA backoff rule; unknown tokens count as `<unk>`."""
        known = self.log10_probs[0]
        tokens = [t if (t,) in known else UNK for t in (*history, word)]
        *context, word = tokens[max(0, len(tokens) - self.order) :]
        backoff = 0.0
        for start in range(len(context) + 1):
            ngram = (*context[start:], word)
            if ngram in self.log10_probs[len(ngram) - 1]:
                return backoff + self.log10_probs[len(ngram) - 1][ngram]
            backoff += self.log10_backoffs[len(ngram) - 2].get(ngram[:-1], 0.0)
        raise KeyError(f"{word!r} is not among the model's unigrams, and {UNK} is not either")


def estimate(sentences: Iterable[Sequence[str]], order: int = 3) -> NGramModel:
    """Token sequences (without `<s>`, `</s>`) -> interpolated modified Kneser-Ney model."""
    counts = kneser_ney_counts(sentences, order)
    bos_count = counts[0].pop((BOS,), 0)
    if not bos_count:
        raise ValueError("no sentences to estimate a language model from")
    vocab_size = len(counts[0]) + ((UNK,) not in counts[0])
    probs: list[dict[NGram, float]] = []
    gammas: list[dict[NGram, float]] = []
    for order_counts in counts:
        ds = discounts([sum(c == k for c in order_counts.values()) for k in (1, 2, 3, 4)])
        totals: Counter[NGram] = Counter()
        mass: Counter[NGram] = Counter()
        for g, c in order_counts.items():
            totals[g[:-1]] += c
            mass[g[:-1]] += ds[min(c, 3) - 1]
        gamma = {h: mass[h] / totals[h] for h in totals}
        lower = probs[-1] if probs else None
        probs.append(
            {
                g: (c - ds[min(c, 3) - 1]) / totals[g[:-1]]
                + gamma[g[:-1]] * (lower[g[1:]] if lower is not None else 1 / vocab_size)
                for g, c in order_counts.items()
            }
        )
        gammas.append(gamma)
    probs[0].setdefault((UNK,), gammas[0][()] / vocab_size)
    log10_probs = [{g: math.log10(p) for g, p in order.items()} for order in probs]
    log10_probs[0][(BOS,)] = LOG10_ZERO
    log10_backoffs = [{h: math.log10(g) for h, g in order.items()} for order in gammas[1:]]
    return NGramModel(log10_probs, log10_backoffs)


def write_arpa(model: NGramModel, path: str | Path) -> Path:
    """Write the model as an ARPA file (n-grams sorted within each order)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        f.write("\n\\data\\\n")
        for n, count in enumerate(model.counts, start=1):
            f.write(f"ngram {n}={count}\n")
        for n, order_probs in enumerate(model.log10_probs, start=1):
            backoffs = model.log10_backoffs[n - 1] if n < model.order else {}
            f.write(f"\n\\{n}-grams:\n")
            for g in sorted(order_probs):
                line = f"{order_probs[g]:.7f}\t{' '.join(g)}"
                if g in backoffs:
                    line += f"\t{backoffs[g]:.7f}"
                f.write(line + "\n")
        f.write("\n\\end\\\n")
    return path


def read_arpa(path: str | Path) -> NGramModel:
    """Read an ARPA file (as `write_arpa`, SRILM or KenLM write it)."""
    expected: list[int] = []
    probs: list[dict[NGram, float]] = []
    backoffs: list[dict[NGram, float]] = []
    n = 0
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line == "\\data\\":
                continue
            if line == "\\end\\":
                break
            if line.startswith("ngram "):
                expected.append(int(line.split("=")[1]))
            elif line.startswith("\\") and line.endswith("-grams:"):
                n = int(line[1 : -len("-grams:")])
                probs.append({})
                backoffs.append({})
            elif n:
                fields = line.split()
                ngram = tuple(fields[1 : n + 1])
                probs[-1][ngram] = float(fields[0])
                if len(fields) == n + 2:
                    backoffs[-1][ngram] = float(fields[-1])
    if [len(p) for p in probs] != expected:
        raise ValueError(f"{path}: the n-gram counts {expected} of \\data\\ do not match the file")
    return NGramModel(probs, backoffs[:-1])


class ARPAError(ValueError):
    """An ARPA file that is not one; the message names the file and line."""


def check_arpa(path: str | Path) -> None:
    """One cheap pass over an ARPA file before KenLM loads it (KenLM's errors name neither the
    file nor the line): `\\data\\` and its `ngram N=COUNT` lines, then for each order a
    `\\N-grams:` section of COUNT lines `log10-prob token x N [backoff]`, then `\\end\\`.
    Raises ARPAError naming the file and the first line that breaks this."""
    path = Path(path)
    if not path.is_file():
        raise ARPAError(f"{path}: no such file")
    shape, number = _ARPAShape(), 0
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                if shape.read(raw):
                    return
            except ValueError as err:
                raise ARPAError(f"{path}:{number}: {err} (not an ARPA language model?)") from None
    raise ARPAError(f"{path}:{number}: no \\end\\, the file is cut short")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _ARPAShape:
    """`check_arpa`'s state: the header's n-gram counts, the section read and its lines."""

    def __init__(self) -> None:
        self.counts: list[int] = []  # ngram N=COUNT, by order
        self.order = -1  # -1 before \data\, 0 in the header, else the section's order
        self.seen = 0  # lines of the section

    def read(self, raw: bytes) -> bool:
        """The next line; True at `\\end\\`. Raises ValueError (UnicodeDecodeError among
        them) saying what is wrong with it."""
        line = raw.decode("utf-8").strip()
        if not line:
            return False
        if self.order < 0:
            if line != "\\data\\":
                raise ValueError(f"expected \\data\\, got {line[:40]!r}")
            self.order = 0
        elif line.startswith("\\"):
            self._close()
            if line == "\\end\\" and self.counts and self.order == len(self.counts):
                return True
            if line != f"\\{self.order + 1}-grams:" or self.order == len(self.counts):
                raise ValueError(f"expected the next section or \\end\\, got {line[:40]!r}")
            self.order, self.seen = self.order + 1, 0
        elif self.order == 0:
            key, _, value = line.partition("=")
            if key != f"ngram {len(self.counts) + 1}" or not value.isdigit():
                raise ValueError(f"expected ngram {len(self.counts) + 1}=COUNT, got {line[:40]!r}")
            self.counts.append(int(value))
        else:
            fields = line.split()
            numbers = (fields[0], *fields[self.order + 1 :])
            if len(fields) not in (self.order + 1, self.order + 2) or not all(
                _is_number(x) for x in numbers
            ):
                raise ValueError(
                    f"expected a log10 probability, {self.order} token(s) and maybe a backoff, "
                    f"got {line[:40]!r}"
                )
            self.seen += 1
        return False

    def _close(self) -> None:
        """Raises ValueError when the section just read does not have the header's count."""
        if self.order > 0 and self.seen != self.counts[self.order - 1]:
            raise ValueError(
                f"the header says ngram {self.order}={self.counts[self.order - 1]}, "
                f"but the section has {self.seen} lines"
            )


def arpa_vocabulary(path: str | Path) -> list[str]:
    """The unigrams of an ARPA file, without `<s>`, `</s>` and `<unk>`; reads no further."""
    words = []
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            if line.strip() == "\\1-grams:":
                break
        for line in f:
            fields = line.split()
            if not fields or fields[0].startswith("\\"):
                break
            if fields[1] not in (BOS, EOS, UNK):
                words.append(fields[1])
    return words


def build_arpa(
    texts: Iterable[str], path: str | Path, order: int = 3, unit: Unit = "word"
) -> NGramModel:
    """Transcripts (one sentence each; normalised here, empty ones skipped) -> an ARPA file at
    `path` holding their `order`-gram model of `unit` tokens; returns the model."""
    token_lists = (tokenize(text, unit) for text in texts)
    model = estimate((tokens for tokens in token_lists if tokens), order)
    write_arpa(model, path)
    return model
