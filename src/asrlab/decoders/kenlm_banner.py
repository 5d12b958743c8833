"""KenLM's banner, kept off the user's terminal while an ARPA file loads."""

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

# KenLM's banner on stderr while it reads an ARPA file: a tip to convert the file to KenLM's binary
# format (which asrlab-lm does not write), the file's name and a progress bar.
_KENLM_TIP = "Loading the LM will be faster if you build a binary file."
_KENLM_RULER = "----5---10---15---20---25---30"


def _kenlm_banner(line: str, lm: str) -> bool:
    line = line.rstrip("\n")
    return (
        line in (_KENLM_TIP, f"Reading {lm}")
        or line.startswith(_KENLM_RULER)
        or (line != "" and line.strip("*") == "")
    )


@contextlib.contextmanager
def without_kenlm_banner(lm: str) -> Iterator[None]:
    """Captures what C++ code writes to stderr (file descriptor 2) inside the block, in which
    KenLM reads the ARPA file `lm`, and writes it back without KenLM's banner; if the block
    raises, everything is written back."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        failed = True
        try:
            yield
            failed = False
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines(keepends=True)
            kept = [ln for ln in lines if failed or not _kenlm_banner(ln, lm)]
            sys.stderr.write("".join(kept))
            sys.stderr.flush()
