"""asrlab-export of an RNN-T checkpoint: three TorchScript graphs that greedy-decode, with torch
alone, to the head's own tokens; heads it cannot export are refused in one line, writing nothing."""

import json
import sys
from pathlib import Path

import pytest
import torch

from asrlab.cli.export import main
from asrlab.data.audio import read_audio, write_audio
from asrlab.model.build import build_model, build_tokenizer
from asrlab.model.heads.rnnt_search import greedy_search
from asrlab.tools.exporting.bundle import noise_batch
from asrlab.training.checkpoint import load_model
from helpers import compose_train, manifest_overrides

TINY = ["encoder.hidden_size=16", "encoder.num_layers=1"]
TINY_RNNT = ["head=rnnt", "head.joint_dim=16", "head.embedding_dim=8", "head.prediction_dim=12"]


def untrained_checkpoint(overrides: list[str], tiny_synth: dict[str, Path], run: Path) -> Path:
    """A checkpoint as asrlab-train writes it, of a randomly initialised model."""
    cfg = compose_train([*manifest_overrides(tiny_synth), *TINY, *overrides], run)
    torch.manual_seed(0)
    model = build_model(cfg, build_tokenizer(cfg), texts=lambda: [])
    checkpoint = {"state_dict": model.state_dict()}
    model.on_save_checkpoint(checkpoint)
    path = run / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True)
    torch.save(checkpoint, path)
    return path


@pytest.mark.parametrize(
    "rnn",
    [
        "head.prediction_rnn=lstm",
        pytest.param("head.prediction_rnn=gru,head.prediction_layers=2", marks=pytest.mark.slow),
    ],
)
def test_rnnt_graphs_greedy_decode_as_the_head(
    rnn: str,
    tiny_synth: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checkpoint = untrained_checkpoint([*TINY_RNNT, *rnn.split(",")], tiny_synth, tmp_path)
    main([str(checkpoint)])  # --format both: what RNN-T exports, TorchScript
    out = tmp_path / "export"
    printed = capsys.readouterr().out
    assert "no onnx: a rnnt head exports to TorchScript only" in printed
    spec = json.loads((out / "model.json").read_text())
    graphs = {"encoder": "encoder.pt", "prediction": "prediction.pt", "joint": "joint.pt"}
    assert spec["head"] == "rnnt" and spec["files"]["torchscript"] == graphs
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*graphs.values(), "rnnt_greedy.py", "tokenizer.json", "model.json"]
    )

    # rnnt_greedy.py as the folder holds it, imported without asrlab's help.
    monkeypatch.syspath_prepend(str(out))
    monkeypatch.delitem(sys.modules, "rnnt_greedy", raising=False)
    from rnnt_greedy import load  # type: ignore[import-not-found]

    model, _ = load_model(checkpoint)
    head = model.head
    waves, lengths = noise_batch((0.6, 1.1, 0.3, 0.05), 16000, seed=3)
    with torch.no_grad():
        scores, frames = model(waves, lengths)
    expected = [
        list(greedy_search(head, s[:n], head.max_symbols).tokens)
        for s, n in zip(scores, frames.tolist(), strict=True)
    ]
    assert sum(map(len, expected)) > 0  # the random model emits tokens
    decode = load(out)
    assert decode(waves, lengths) == expected  # padded to the longest
    for i, n in enumerate(lengths.tolist()):  # one at a time
        assert decode(waves[i : i + 1, :n], lengths[i : i + 1]) == [expected[i]]

    # docs/export.md's RNN-T snippet prints the head's transcript.
    page = (Path(__file__).parents[3] / "docs" / "export.md").read_text()
    snippet = page.split("## RNN-T", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    write_audio(tmp_path / "utt.wav", waves[1], 16000)
    exec(snippet.replace("DIR", str(out)), {})
    wave = read_audio(tmp_path / "utt.wav", 16000)
    text = model.transcribe(wave[None], torch.tensor([len(wave)]))[0]
    assert text.strip() and capsys.readouterr().out == " ".join(text.split()) + "\n"


def test_rnnt_refuses_onnx_alone(
    tiny_synth: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    checkpoint = untrained_checkpoint(TINY_RNNT, tiny_synth, tmp_path)
    with pytest.raises(SystemExit) as error:
        main([str(checkpoint), "--format", "onnx"])
    message = capsys.readouterr().err
    assert error.value.code == 1 and message.count("\n") == 1
    assert message == (
        f"asrlab-export: {checkpoint}: a rnnt head exports to torchscript only (see "
        "docs/export.md); give --format torchscript\n"
    )
    assert not (tmp_path / "export").exists()


@pytest.mark.parametrize("head", ["aed", "ctc_aed"])
def test_heads_that_do_not_export_are_named_and_nothing_is_written(
    head: str, tiny_synth: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    small = ["head.d_model=16", "head.num_layers=1", "head.ffn_dim=32", "head.num_heads=2"]
    checkpoint = untrained_checkpoint([f"head={head}", *small], tiny_synth, tmp_path)
    with pytest.raises(SystemExit) as error:
        main([str(checkpoint)])
    assert error.value.code == 1
    assert capsys.readouterr().err == (
        f"asrlab-export: {checkpoint}: head '{head}' is not supported yet; export supports "
        "ctc and rnnt\n"
    )
    assert not (tmp_path / "export").exists()
