"""A head that cannot hold the training data stops asrlab-train before training, in one line
naming the knob: an attention head's positional encoding shorter than a transcript (with the
manifest line), an RNN-T joint beyond head.max_joint_bytes."""

import re
import sys
from pathlib import Path

import pytest

from asrlab.cli.train import main
from helpers import manifest_overrides

TINY = ["encoder.hidden_size=16", "encoder.num_layers=1", "trainer.max_epochs=1"]


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (
            ["head=aed", "head.max_positions=4", "head.d_model=16", "head.ffn_dim=32"],
            r":\d+: its transcript has \d+ tokens \(\+ <eos>\), more than the attention head's "
            r"positional encoding covers: raise head.max_positions \(now 4\)",
        ),
        (
            ["head=ctc_aed", "head.max_positions=4", "head.d_model=16", "head.ffn_dim=32"],
            r"raise head.max_positions \(now 4\)",
        ),
        (["head=rnnt", "head.max_joint_bytes=1000"], r"> head.max_joint_bytes=1000: lower data"),
    ],
)
def test_asrlab_train_refuses_a_head_that_cannot_hold_the_data_in_one_line(
    head: list[str],
    message: str,
    tiny_synth: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paths = [f"paths.output_dir={tmp_path / 'run'}", f"hydra.run.dir={tmp_path / 'run'}"]
    argv = ["asrlab-train", *manifest_overrides(tiny_synth), *TINY, *head, *paths]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit:
        main()
    assert isinstance(exit.value.code, str) and "\n" not in exit.value.code
    assert exit.value.code.startswith("asrlab-train: ")
    assert re.search(message, exit.value.code), exit.value.code
    assert not list((tmp_path / "run").glob("checkpoints/*.ckpt"))
