"""asrlab-data shard: a JSONL data option as Shar shards that data=lhotse trains on unchanged."""

import json
import sys
from pathlib import Path

import pytest
import torch
from lhotse import CutSet

from asrlab.cli.data import main
from asrlab.data.audio import read_audio
from asrlab.data.lhotse.datamodule import LhotseDataModule
from asrlab.data.lhotse.source import LhotseCuts
from asrlab.data.lhotse.tar import members
from asrlab.text.tokenizer import CharTokenizer
from helpers import FRAMES_OF, write_dataset


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["asrlab-data", *argv])
    main()


def _shard_args(manifest: Path, out: Path, run: Path) -> list[str]:
    return [
        "shard",
        "data=manifest",
        *(f"data.source.{split}={manifest}" for split in ("train", "val", "test")),
        f"shard.out={out}",
        "shard.shard_size=2",
        f"hydra.run.dir={run}",
    ]


def test_shards_train_with_the_manifests_audio_and_texts_and_are_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    manifest = write_dataset(tmp_path / "data", ["one", "two", "three", "four", "five"])
    lines = [json.loads(line) for line in manifest.read_text().splitlines()]
    lines[3]["speaker"] = "bo"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "shards"
    _run(_shard_args(manifest, out, tmp_path / "run"), monkeypatch)
    assert len(list((out / "train").glob("recording.*.tar"))) == 3  # 5 cuts, 2 a shard

    spec = str(out / "train")
    source = LhotseCuts(spec, spec, spec, str(tmp_path / "views"))
    data = LhotseDataModule(source, CharTokenizer(), FRAMES_OF, batch_size=2, max_duration=100.0)
    data.setup("fit")
    read = {}
    for batch in data.train_dataloader():
        for i, wave, n, text in zip(
            batch.ids, batch.waves, batch.wave_lengths, batch.texts, strict=True
        ):
            read[i] = (wave[:n], text)
    assert sorted(read) == [f"utt{i}" for i in range(5)]
    for i, line in enumerate(lines):
        wave, text = read[f"utt{i}"]
        assert torch.equal(wave, read_audio(tmp_path / "data" / line["audio_filepath"], 16000))
        assert text == line["text"]
    view = [json.loads(line) for line in source.prepare()["train"].read_text().splitlines()]
    assert [row["speaker"] for row in view] == [None, None, None, "bo", None]

    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    with pytest.raises(SystemExit):
        _run(_shard_args(manifest, out, tmp_path / "run2"), monkeypatch)
    assert (
        f"{out / 'cuts_train.jsonl.gz'} exists: shards are not overwritten; "
        "remove it or pick another shard.out" in capsys.readouterr().out
    )
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_unreadable_audio_is_named_or_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    manifest = write_dataset(tmp_path / "data", ["one", "two", "three"])
    (tmp_path / "data" / "utt1.wav").write_bytes(b"not audio")
    with pytest.raises(SystemExit):
        _run(_shard_args(manifest, tmp_path / "a", tmp_path / "run"), monkeypatch)
    assert f"{manifest}:2: cannot read {tmp_path / 'data' / 'utt1.wav'}" in capsys.readouterr().out
    assert not (tmp_path / "a" / "train").exists()

    skip = [*_shard_args(manifest, tmp_path / "b", tmp_path / "run2"), "data.on_error=skip"]
    _run(skip, monkeypatch)
    assert "train: skipped 1 bad manifest line(s)" in capsys.readouterr().out
    assert list(CutSet.from_file(tmp_path / "b" / "cuts_train.jsonl.gz").ids) == ["utt0", "utt2"]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("shard.shard_size=0", "shard.shard_size=0: must be at least 1 (cuts a shard)"),
        ("shard.splits=[train,dev]", "shard.splits ['dev'] are not among the source's splits"),
    ],
)
def test_a_bad_shard_setting_is_named_and_nothing_is_written(
    setting: str,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    manifest = write_dataset(tmp_path / "data", ["one", "two"])
    with pytest.raises(SystemExit):
        _run([*_shard_args(manifest, tmp_path / "out", tmp_path / "run"), setting], monkeypatch)
    assert message in capsys.readouterr().out
    assert not list((tmp_path / "out").glob("*/*"))


def test_audio_format_is_written_and_an_unknown_one_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    manifest = write_dataset(tmp_path / "data", ["one"])
    _run(_shard_args(manifest, tmp_path / "a", tmp_path / "run"), monkeypatch)
    flac = [*_shard_args(manifest, tmp_path / "b", tmp_path / "run2"), "shard.audio_format=flac"]
    _run(flac, monkeypatch)
    for out, suffix in (("a", ".wav"), ("b", ".flac")):
        assert [n for n, _ in members(tmp_path / out / "train" / "recording.000000.tar")] == [
            f"utt0{suffix}",
            "utt0.json",
        ]
    with pytest.raises(SystemExit):
        mp3 = [*_shard_args(manifest, tmp_path / "c", tmp_path / "run3"), "shard.audio_format=mp3"]
        _run(mp3, monkeypatch)
    assert "shard.audio_format=mp3: give one of ('wav', 'flac')" in capsys.readouterr().out
