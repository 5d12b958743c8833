"""Silences the third-party messages a user can do nothing about; each entry point calls `quiet`.

Each is matched by its logger or warning module and its text, so the libraries' other messages
still show.
"""

import logging
import warnings


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
