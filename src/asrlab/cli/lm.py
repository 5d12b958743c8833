"""asrlab-lm: build an n-gram language model (interpolated modified Kneser-Ney) as an ARPA file.

    asrlab-lm --order 3 --unit word --out lm.arpa train.jsonl extra.txt

Each input is a text file of one sentence per line, or a JSONL manifest (.jsonl or .json) whose
lines carry a "text" field. The ARPA file is what decoder=beam_lm reads as decoder.lm.
"""

import argparse
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from asrlab.decoders.lm import build_arpa


def read_texts(path: Path) -> Iterator[str]:
    """The sentences of a text file (one a line) or of a JSONL manifest's "text" fields."""
    manifest = path.suffix in (".jsonl", ".json")
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            if not manifest:
                yield line
                continue
            try:
                yield str(json.loads(line)["text"])
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise ValueError(f"{path}:{number}: not a JSON object with a text field") from err


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="asrlab-lm", description=__doc__.splitlines()[0])
    parser.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="INPUT",
        help="a text file (a sentence a line) or a .jsonl/.json manifest with text fields",
    )
    parser.add_argument("--order", type=int, default=3, help="n-gram order (default 3)")
    parser.add_argument(
        "--unit",
        choices=["word", "char"],
        default="word",
        help="tokens: words, or characters with | between words (default word)",
    )
    parser.add_argument("--out", type=Path, required=True, help="the ARPA file to write")
    args = parser.parse_args(argv)
    if missing := [str(p) for p in args.inputs if not p.is_file()]:
        parser.error(f"no such file: {', '.join(missing)}")
    if args.order < 1:
        parser.error("--order must be at least 1")
    texts = (text for path in args.inputs for text in read_texts(path))
    try:
        model = build_arpa(texts, args.out, order=args.order, unit=args.unit)
    except ValueError as err:
        parser.exit(1, f"asrlab-lm: {err}\n")
    for n, count in enumerate(model.counts, start=1):
        print(f"{n}-grams: {count}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
