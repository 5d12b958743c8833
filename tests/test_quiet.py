"""The third-party messages `asrlab.cli.quiet` silences, and only those."""

import copy
import logging
import os
import warnings

import pytest
import pytorch_lightning as pl
from pytorch_lightning.utilities._pytree import _tree_flatten
from torch.onnx._internal.exporter._registration import _get_overload

from asrlab.cli import quiet as quiet_module
from asrlab.cli.quiet import quiet
from asrlab.decoders.kenlm_banner import without_kenlm_banner
from helpers import RecordingHandler


@pytest.fixture
def records() -> dict[str, RecordingHandler]:
    """Handlers on the loggers quiet filters (filters on a logger apply before its handlers)."""
    names = ("pytorch_lightning.utilities.rank_zero", "torch.onnx._internal.exporter._registration")
    handlers = {name: RecordingHandler() for name in names}
    for name, handler in handlers.items():
        # An entry point that ran earlier in this process installed the filters already.
        for dropper in (quiet_module._LITLOGGER_TIP, quiet_module._NO_TORCHVISION):
            logging.getLogger(name).removeFilter(dropper)
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)
    yield handlers
    for name, handler in handlers.items():
        logging.getLogger(name).removeHandler(handler)
        logging.getLogger(name).setLevel(logging.NOTSET)


def _noise() -> tuple[list[str], list[warnings.WarningMessage]]:
    """The logged messages and the warnings of a Trainer, Lightning's pytree helper and the ONNX
    exporter's torchvision lookup."""
    with warnings.catch_warnings(record=True) as caught:
        pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False)
        copy.deepcopy(_tree_flatten(1.0)[1])
        _get_overload("torchvision::nms")
    return [str(w.message) for w in caught]


def test_quiet_drops_the_tip_the_pytree_warning_and_torchvision(records) -> None:
    warnings.simplefilter("always")
    tip = records["pytorch_lightning.utilities.rank_zero"].messages
    onnx = records["torch.onnx._internal.exporter._registration"].messages
    caught = _noise()
    assert any("litlogger" in m for m in tip)
    assert any("torchvision is not installed" in m for m in onnx)
    assert any("LeafSpec" in m for m in caught)
    tip.clear()
    onnx.clear()
    quiet()
    caught = _noise()
    assert not any("litlogger" in m for m in tip)
    assert any("GPU available" in m for m in tip)  # the rest of Lightning's messages stay
    assert onnx == []
    assert not any("LeafSpec" in m for m in caught)


BANNER = (
    "Loading the LM will be faster if you build a binary file.\n"
    "Reading lm.arpa\n"
    "----5---10---15---20---25---30---35---40---45---50---55---60---65---70---75---80---85---90---95--100\n"
    "****************************************************************************************************\n"
)


def test_kenlm_banner_is_dropped_and_other_stderr_kept(capfd: pytest.CaptureFixture) -> None:
    with without_kenlm_banner("lm.arpa"):
        os.write(2, (BANNER + "Reading other.arpa\nWARNING: <s> is not in the LM\n").encode())
    assert capfd.readouterr().err == "Reading other.arpa\nWARNING: <s> is not in the LM\n"


def test_kenlm_banner_is_kept_when_the_load_fails(capfd: pytest.CaptureFixture) -> None:
    with pytest.raises(RuntimeError), without_kenlm_banner("lm.arpa"):
        os.write(2, BANNER.encode())
        raise RuntimeError("bad ARPA file")
    assert capfd.readouterr().err == BANNER
