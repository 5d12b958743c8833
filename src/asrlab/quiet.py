"""Silences the third-party messages a user can do nothing about; each entry point calls `quiet`.

Each is matched by its logger or warning module and its text, so the libraries' other messages
still show.
"""

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator


class _DropMessages(logging.Filter):
    """Drops the records whose unformatted message starts with one of `prefixes`."""

    def __init__(self, *prefixes: str) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


# Lightning advertises a cloud logger on every Trainer.
_LITLOGGER_TIP = _DropMessages("💡 Tip: For seamless cloud logging")
# The ONNX exporter looks for torchvision's detection ops, which no asrlab model has.
_NO_TORCHVISION = _DropMessages("torchvision is not installed")


def quiet() -> None:
    """Installs the filters (idempotent)."""
    logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(_LITLOGGER_TIP)
    logging.getLogger("torch.onnx._internal.exporter._registration").addFilter(_NO_TORCHVISION)
    # torch's deprecated LeafSpec, built by Lightning's pytree helper (in fit and in test) and
    # copied by the ONNX exporter.
    warnings.filterwarnings(
        "ignore",
        message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        category=FutureWarning,
        module=r"(pytorch_lightning\.utilities\._pytree|copyreg)$",
    )
    # The exporter names each dynamic dimension once; the batch axis is shared by both inputs.
    warnings.filterwarnings(
        "ignore",
        message=r"# The axis name: batch will not be used",
        category=UserWarning,
        module=r"torch\.onnx\.",
    )


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
