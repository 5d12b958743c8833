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


def write_clean_kaldi_dir(folder: Path) -> Path:
    """`write_kaldi_dir` without its bad entries: three segments of two recordings."""
    write_kaldi_dir(folder)
    (folder / "wav.scp").write_text(f"ra {folder / 'a.wav'}\nrb {folder / 'b.wav'}\n")
    (folder / "segments").write_text("a1 ra 0.0 0.4\na2 ra 0.5 1.0\nb1 rb 0.1 0.6\n")
    (folder / "text").write_text("a1 hello there\na2 again\nb1 good bye\n")
    (folder / "utt2spk").write_text("a1 ann\na2 ann\nb1 bo\n")
    return folder


@pytest.mark.parametrize(
    ("name", "lines", "where", "message"),
    [
        ("segments", "a1 ra 0 0.4\na2 ra 0.5 3.0\nb1 rb 0.1 0.6\n", "segments:2", "lies outside"),
        ("segments", "a1 ra -0.5 0.4\na2 ra 0.5 1\nb1 rb 0.1 0.6\n", "segments:1", "lies outside"),
        ("segments", "a1 ra 0.4 0.1\na2 ra 0.5 1\nb1 rb 0.1 0.6\n", "segments:1", "lies outside"),
        ("segments", "a1 ra zero 0.4\na2 ra 0.5 1\nb1 rb 0.1 0.6\n", "segments:1", "want 'utt"),
        ("segments", "a1 rz 0 0.4\na2 ra 0.5 1\nb1 rb 0.1 0.6\n", "segments:1", "rz is not in"),
        (
            "segments",
            "a1 ra 0 0.4\na2 ra 0.5 1\nb1 rb 0.1 0.6\na1 rb 0 0.3\n",
            "segments:4",
            "again",
        ),
        ("text", "a1 hello there\nagain\nb1 good bye\na2 again\n", "text:2", "no utterance"),
        ("text", "a1 hello there\na2 again\nb1 good bye\na1 other\n", "text:4", "id a1 again"),
        ("utt2spk", "a1 ann\nb1 bo\n", "segments:2", "utterance a2 has no utt2spk entry"),
    ],
)
def test_entry_that_lhotse_would_drop_or_trip_on_is_named(
    name: str, lines: str, where: str, message: str, tmp_path: Path
) -> None:
    folder = write_clean_kaldi_dir(tmp_path / "train")
    (folder / name).write_text(lines)
    with pytest.raises(ManifestError) as err:
        kaldi_cuts(folder, SAMPLE_RATE)
    assert f"1 bad Kaldi entry(s):\n  {folder / where}: " in str(err.value)
    assert message in str(err.value)


def test_duplicate_recording_is_named_and_skipped_with_its_segments(tmp_path: Path) -> None:
    folder = write_clean_kaldi_dir(tmp_path / "train")
    with (folder / "wav.scp").open("a") as f:
        f.write(f"ra {folder / 'b.wav'}\n")
    skipped: list[Problem] = []
    assert list(kaldi_cuts(folder, SAMPLE_RATE, skipped).ids) == ["b1"]
    assert [(p.where, p.message) for p in skipped] == [
        (f"{folder / 'wav.scp'}:3", "id ra again (first on line 1)")
    ]


def test_segment_ending_just_past_its_recording_ends_with_it(tmp_path: Path) -> None:
    folder = write_clean_kaldi_dir(tmp_path / "train")
    (folder / "segments").write_text("a1 ra 0 0.4\na2 ra 0.5 1.008\nb1 rb 0.1 0.6\n")
    assert kaldi_cuts(folder, SAMPLE_RATE)["a2"].duration == pytest.approx(0.5)
