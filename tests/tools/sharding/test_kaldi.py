"""asrlab-data kaldi: a Kaldi data directory through Lhotse into cuts; its bad entries named."""

import sys
from pathlib import Path

import numpy as np
import pytest
from lhotse import CutSet

from asrlab.cli.data import main
from asrlab.data.audio import read_audio, write_audio
from asrlab.data.lhotse.kaldi import kaldi_cuts
from asrlab.data.manifest import ManifestError, Problem
from helpers import SAMPLE_RATE, tone


def write_kaldi_dir(folder: Path) -> Path:
    """Two recordings, three segments (one without text), and a pipe command's recording."""
    folder.mkdir()
    for name, seconds in [("a", 1.0), ("b", 0.6)]:
        write_audio(folder / f"{name}.wav", tone(seconds, 300 + 100 * len(name)), SAMPLE_RATE)
    files = {
        "wav.scp": f"ra {folder / 'a.wav'}\nrb {folder / 'b.wav'}\nrc sox c.wav -t wav - |\n",
        "segments": "a1 ra 0.0 0.4\na2 ra 0.5 1.0\nb1 rb 0.1 0.6\nc1 rc 0 1\n",
        "text": "a1 hello there\nb1 good bye\nc1 piped\n",
        "utt2spk": "a1 ann\na2 ann\nb1 bo\nc1 cy\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_bad_entries_are_named_by_file_and_line(tmp_path: Path) -> None:
    folder = write_kaldi_dir(tmp_path / "train")
    with pytest.raises(ManifestError) as err:
        kaldi_cuts(folder, SAMPLE_RATE)
    assert f"{folder / 'wav.scp'}:3: recording rc is a pipe command" in str(err.value)
    assert f"{folder / 'segments'}:2: utterance a2 has no text entry" in str(err.value)
    assert "2 bad Kaldi entry" in str(err.value)


def test_skipped_entries_leave_the_good_segments_with_their_audio(tmp_path: Path) -> None:
    folder = write_kaldi_dir(tmp_path / "train")
    skipped: list[Problem] = []
    cuts = kaldi_cuts(folder, SAMPLE_RATE, skipped)
    assert len(skipped) == 2
    assert [(c.id, c.supervisions[0].text, c.supervisions[0].speaker) for c in cuts] == [
        ("a1", "hello there", "ann"),
        ("b1", "good bye", "bo"),
    ]
    b1 = cuts["b1"].load_audio()[0]
    whole = read_audio(folder / "b.wav", SAMPLE_RATE).numpy()
    assert np.allclose(b1, whole[int(0.1 * SAMPLE_RATE) :], atol=1e-4)


def test_console_command_writes_what_data_lhotse_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    folder = write_kaldi_dir(tmp_path / "train")
    out = tmp_path / "shards"
    argv = ["asrlab-data", "kaldi", f"kaldi.train={folder}", f"shard.out={out}"]
    monkeypatch.setattr(sys, "argv", [*argv, f"hydra.run.dir={tmp_path / 'run'}"])
    with pytest.raises(SystemExit):
        main()
    assert "recording rc is a pipe command" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", [*argv, "data.on_error=skip", f"hydra.run.dir={tmp_path}"])
    main()
    assert "train: skipped 2 bad Kaldi entry" in capsys.readouterr().out
    assert sorted(CutSet.from_file(out / "cuts_train.jsonl.gz").ids) == ["a1", "b1"]
    assert sorted(c.id for c in CutSet.from_shar(in_dir=out / "train")) == ["a1", "b1"]
