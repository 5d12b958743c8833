"""data=lhotse: cuts manifests and Shar folders batched by Lhotse's sampler into asrlab Batches."""

import json
import os
import subprocess
import sys
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from lhotse import AudioSource, CutSet
from lhotse.utils import fastcopy
from torch import nn

from asrlab.data.batch import Batch
from asrlab.data.lhotse.cuts import cut_problems
from asrlab.data.lhotse.datamodule import LhotseDataModule
from asrlab.data.lhotse.shar import SharCuts
from asrlab.data.lhotse.source import LhotseCuts
from asrlab.data.manifest import ManifestError
from asrlab.model.module import training_steps
from asrlab.text.tokenizer import CharTokenizer
from asrlab.training.schedulers import onecycle
from helpers import FRAMES_OF, shar_of, write_cuts


def data_module(spec: str | Path, tmp_path: Path, **kwargs) -> LhotseDataModule:
    lazy = kwargs.pop("lazy", False)
    source = LhotseCuts(str(spec), str(spec), str(spec), str(tmp_path / "views"), lazy=lazy)
    kwargs.setdefault("seed", 3)
    return LhotseDataModule(
        source, CharTokenizer(), FRAMES_OF, batch_size=3, max_duration=100.0, **kwargs
    )


def epoch_ids(data: LhotseDataModule) -> list[list[str]]:
    return [batch.ids for batch in data.train_dataloader()]


@pytest.mark.parametrize("lazy", [False, True])
def test_cuts_manifest_trains_in_asrlab_batches(lazy: bool, tmp_path: Path) -> None:
    cuts = write_cuts(tmp_path / "data", ["one", "two", "three", "four", "five", "six", "seven"])
    data = data_module(cuts, tmp_path, lazy=lazy)
    data.setup("fit")
    batches = list(data.train_dataloader())
    assert sorted(i for b in batches for i in b.ids) == sorted(CutSet.from_file(cuts).ids)
    first = batches[0]
    assert first.waves.dim() == 2 and first.waves.shape[0] == len(first.ids) <= 3
    samples = [round((0.3 + 0.1 * int(i.split("-")[1])) * 16000) for i in first.ids]
    assert first.wave_lengths.tolist() == samples
    assert first.texts == [data.tokenizer.normalize(t) for t in first.texts]
    view = data.source.prepare()["train"]
    assert json.loads(view.read_text().splitlines()[0])["speaker"] == "ann"


def test_shar_folder_trains_like_its_cuts_manifest(tmp_path: Path) -> None:
    cuts = write_cuts(tmp_path / "data", ["one", "two", "three", "four", "five"])
    shar = tmp_path / "shar"
    shar.mkdir()
    CutSet.from_file(cuts).to_shar(shar, fields={"recording": "flac"}, shard_size=2)
    from_manifest = data_module(cuts, tmp_path)
    from_shar = data_module(shar, tmp_path)
    for data in (from_manifest, from_shar):
        data.setup("fit")
    by_id = {
        i: w for b in from_manifest.train_dataloader() for i, w in zip(b.ids, b.waves, strict=True)
    }
    for batch in from_shar.train_dataloader():
        for i, wave, n in zip(batch.ids, batch.waves, batch.wave_lengths, strict=True):
            assert torch.allclose(wave[:n], by_id[i][:n], atol=1e-4)


def words(count: int) -> list[str]:
    return [f"word {chr(97 + i)}" for i in range(count)]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_shar_epoch_is_every_cut_once_and_resumes_exactly(num_workers: int, tmp_path: Path) -> None:
    # 5 shards dealt to 2 workers: 3 and 2 shards, so one worker runs out before the other.
    data = data_module(
        shar_of(write_cuts(tmp_path / "data", words(10)), 2), tmp_path, num_workers=num_workers
    )
    data.max_duration = 1.5
    data.setup("fit")
    loader = data.train_dataloader()
    loader.set_epoch(1)
    full = [batch.ids for batch in loader]
    assert len(full) == len(loader) >= 6
    assert sorted(i for ids in full for i in ids) == [f"utt{i}-{i}" for i in range(10)]
    loader.set_epoch(0)
    assert [batch.ids for batch in loader] != full  # shards and cuts shuffled by epoch
    for stop in (1, len(full) - 2):
        loader.set_epoch(1)
        taken = [batch.ids for batch in islice(loader, stop)]
        state = torch.load(_saved(loader.state_dict(), tmp_path), weights_only=True)
        resumed = data.train_dataloader()
        resumed.load_state_dict(state)
        assert taken + [batch.ids for batch in resumed] == full


@pytest.mark.parametrize("num_workers", [0, 2])
def test_shar_batches_counted_on_durations_are_the_metadatas(
    num_workers: int, tmp_path: Path
) -> None:
    shar = shar_of(write_cuts(tmp_path / "data", words(16)), 3)
    data = data_module(shar, tmp_path, num_workers=num_workers)
    data.max_duration = 2.0
    data.setup("fit")
    loader = data.train_dataloader()
    durations = loader.slots.durations
    assert [len(shard) for shard in durations] == [3, 3, 3, 3, 3, 1]
    read = [cut.duration for cut in data.source.cuts("train", audio=False)]
    np.testing.assert_array_equal(data._first_durations("train"), read)  # the bucket edges' input
    for epoch in range(4):
        loader.set_epoch(epoch)
        counted = loader.slot_batches()
        loader.slots.durations, loader._counts = None, {}
        assert loader.slot_batches() == counted
        assert sum(counted) == len(loader) == sum(1 for _ in loader)
        loader.slots.durations = durations


def test_shar_split_with_bad_cuts_is_counted_on_its_metadata(tmp_path: Path) -> None:
    shar = shar_of(write_cuts(tmp_path / "data", [*words(7), None]), 3)
    data = data_module(shar, tmp_path, on_error="skip", num_workers=2)
    data.max_duration = 2.0
    data.setup("fit")
    loader = data.train_dataloader()
    assert loader.slots.durations is None
    ids = [i for batch in loader for i in batch.ids]
    assert len(ids) == 7 and "utt7-7" not in ids and len(loader) == sum(1 for _ in loader)


def test_shar_audio_is_read_in_the_workers_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    main, read_here = os.getpid(), []
    iterate = SharCuts.__iter__

    def recorded(shards: SharCuts):
        if os.getpid() == main and shards.audio:  # the audio tars
            read_here.append(shards.audio)
        return iterate(shards)

    monkeypatch.setattr(SharCuts, "__iter__", recorded)
    data = data_module(shar_of(write_cuts(tmp_path / "data", words(4)), 2), tmp_path, num_workers=2)
    data.setup("fit")
    assert len([batch.ids for batch in data.train_dataloader()]) > 0
    assert read_here == []


def test_shar_ranks_get_other_shards_and_as_many_batches(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shar = shar_of(write_cuts(tmp_path / "data", words(9)), 1)
    monkeypatch.setattr("asrlab.data.lhotse.datamodule.get_world_size", lambda: 2)
    epochs = []
    for rank in (0, 1):
        monkeypatch.setattr("asrlab.data.lhotse.datamodule.get_rank", lambda rank=rank: rank)
        data = data_module(shar, tmp_path, num_workers=2)
        data.batch_size = 1  # 9 shards of a cut for 4 slots: 3 + 2 and 2 + 2, so 4 batches
        data.setup("fit")
        loader = data.train_dataloader()
        epochs.append([i for batch in loader for i in batch.ids])
        assert len(loader) == 4
    assert len(epochs[0]) == len(epochs[1]) == 4 and not set(epochs[0]) & set(epochs[1])


def test_shar_position_from_other_workers_restarts_the_epoch(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    shar = shar_of(write_cuts(tmp_path / "data", words(4)), 2)
    data = data_module(shar, tmp_path, num_workers=2)
    data.setup("fit")
    loader = data.train_dataloader()
    full = [batch.ids for batch in loader]
    loader.load_state_dict({"epoch": 0, "batches_yielded": 1, "slots": [1, 4]})
    assert [batch.ids for batch in loader] == full
    assert "restarts from its first batch" in caplog.text


@pytest.mark.parametrize("num_workers", [0, 2])
def test_loader_state_resumes_the_epoch_exactly(num_workers: int, tmp_path: Path) -> None:
    cuts = write_cuts(tmp_path / "data", [f"word {c}" for c in "abcdefghijkl"])
    data = data_module(cuts, tmp_path, num_workers=num_workers)
    data.max_duration = 1.5
    data.setup("fit")
    loader = data.train_dataloader()
    loader.sampler.set_epoch(1)
    full = [batch.ids for batch in loader]
    assert len(full) == len(loader) >= 4
    taken = []
    for batch in loader:  # workers draw ahead of the two batches trained on
        taken.append(batch.ids)
        if len(taken) == 2:
            state = loader.state_dict()
            break
    resumed = data.train_dataloader()
    resumed.load_state_dict(torch.load(_saved(state, tmp_path), weights_only=True))
    resumed.sampler.set_epoch(1)
    assert taken + [batch.ids for batch in resumed] == full


class _IdRecorder(pl.LightningModule):
    """Trains nothing (on the default schedule); lists the cut ids of each epoch's batches, their
    count and the count Lightning expected."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.epochs: list[list[str]] = []
        self.batches: list[int] = []
        self.expected: list[int | float] = []

    def on_train_epoch_start(self) -> None:
        self.epochs.append([])
        self.batches.append(0)
        self.expected.append(self.trainer.num_training_batches)

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        self.epochs[-1] += batch.ids
        self.batches[-1] += 1
        return self.weight.sum()

    def configure_optimizers(self) -> dict:
        optimizer = torch.optim.SGD(self.parameters(), lr=0.1)
        # OneCycle refuses a step past its total: the total counts each epoch's batches.
        scheduler = onecycle(optimizer, training_steps(self.trainer))
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


@pytest.mark.parametrize(("lazy", "shar"), [(False, False), (True, False), (False, True)])
def test_lightning_trains_on_every_cut_of_each_epoch(
    lazy: bool, shar: bool, tmp_path: Path
) -> None:
    cuts = write_cuts(tmp_path / "data", [f"word {c}" for c in "abcdefgh"])
    data = data_module(shar_of(cuts, 2) if shar else cuts, tmp_path, lazy=lazy, seed=1)
    data.max_duration = 1.2  # 6 batches in epoch 0, 7 in epoch 1 (from the cuts manifest)
    recorder = _IdRecorder()
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=2,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(recorder, datamodule=data)
    assert [sorted(ids) for ids in recorder.epochs] == [sorted(CutSet.from_file(cuts).ids)] * 2
    assert recorder.batches == recorder.expected
    assert shar or recorder.batches == [6, 7]


def _saved(state: dict, tmp_path: Path) -> Path:
    """The state as a checkpoint holds it."""
    torch.save(state, tmp_path / "state.pt")
    return tmp_path / "state.pt"


def test_cut_without_text_is_named_or_skipped(tmp_path: Path) -> None:
    cuts = write_cuts(tmp_path / "data", ["one", None, "three"])
    with pytest.raises(ManifestError, match=r"cut utt1-1: a supervision without text"):
        data_module(cuts, tmp_path).setup("fit")
    data = data_module(cuts, tmp_path, on_error="skip", report_dir=str(tmp_path / "run"))
    data.setup("fit")
    assert data.skipped == {"train": 1, "val": 1}
    assert "utt1-1" not in [i for b in data.train_dataloader() for i in b.ids]
    assert "utt1-1" in (tmp_path / "run" / "skipped.jsonl").read_text()


def test_bad_cut_of_a_shar_folder_is_skipped_in_the_workers(tmp_path: Path) -> None:
    shar = shar_of(write_cuts(tmp_path / "data", ["one", None, "three", "four"]), 2)
    data = data_module(shar, tmp_path, lazy=True, on_error="skip", num_workers=2)
    data.setup("fit")  # Shar folders are checked up front, even lazy
    assert data.skipped == {"train": 1, "val": 1}
    loader = data.train_dataloader()
    assert sorted(i for batch in loader for i in batch.ids) == ["utt0-0", "utt2-2", "utt3-3"]


def test_lazy_cuts_are_checked_as_the_sampler_reaches_them(tmp_path: Path) -> None:
    cuts = write_cuts(tmp_path / "data", ["one", None, "three"])
    data = data_module(cuts, tmp_path, lazy=True, num_workers=2)
    data.setup("fit")
    with pytest.raises(ManifestError, match=r"^cut utt1-1: a supervision without text$"):
        list(data.train_dataloader())


def test_lazy_bad_cut_is_skipped_and_reported_once(tmp_path: Path) -> None:
    cuts = write_cuts(tmp_path / "data", ["one", None, "three", "four"])
    data = data_module(cuts, tmp_path, lazy=True, on_error="skip", report_dir=str(tmp_path / "run"))
    data.setup("fit")
    loader = data.train_dataloader()
    for epoch in range(2):
        loader.sampler.set_epoch(epoch)
        assert len(loader) and "utt1-1" not in [i for b in loader for i in b.ids]
    assert data.skipped == {"train": 1}
    report = (tmp_path / "run" / "skipped.jsonl").read_text().splitlines()
    assert [json.loads(line)["where"] for line in report] == ["cut utt1-1"]


def test_overlapping_outside_and_piped_cuts_are_named(tmp_path: Path) -> None:
    cuts = CutSet.from_file(write_cuts(tmp_path / "data", ["one", "two", "three"]))
    overlap, outside, piped = cuts
    overlap.supervisions.append(
        fastcopy(overlap.supervisions[0], id="again", start=0.1, duration=0.1)
    )
    outside.supervisions[0] = fastcopy(outside.supervisions[0], duration=9.0)
    piped.recording.sources[0] = AudioSource("command", channels=[0], source="sox a.wav -t wav - |")
    problems = cut_problems([overlap, outside, piped], CharTokenizer())
    assert [p.where for p in problems] == [f"cut {c.id}" for c in (overlap, outside, piped)]
    assert "overlap" in problems[0].message
    assert "outside the cut" in problems[1].message
    assert "pipe command" in problems[2].message


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_damaged_shar_shard_is_named(damage: str, tmp_path: Path) -> None:
    cuts = CutSet.from_file(write_cuts(tmp_path / "data", ["one", "two", "three", "four"]))
    shar = tmp_path / "shar"
    shar.mkdir()
    cuts.to_shar(shar, fields={"recording": "flac"}, shard_size=2)
    shard = shar / "recording.000001.tar"
    if damage == "missing":
        shard.unlink()
    else:
        shard.write_bytes(shard.read_bytes()[:1000])
    with pytest.raises(ManifestError, match=r"000001"):
        data_module(shar, tmp_path).setup("fit")


@pytest.mark.slow  # ~11 s: a subprocess of the real entry point
def test_asrlab_train_on_cuts_with_the_default_callbacks(tmp_path: Path) -> None:
    cuts = write_cuts(tmp_path / "data", ["one", "two", "three", "four", "five", "six"])
    script = Path(sys.executable).parent / "asrlab-train"
    splits = [f"data.source.{split}={cuts}" for split in ("train", "val", "test")]
    tiny = ["encoder.hidden_size=16", "encoder.num_layers=1", "data.batch_size=3"]
    result = subprocess.run(
        [str(script), "data=lhotse", *splits, *tiny, "trainer.max_epochs=1"]
        + [f"paths.output_dir={tmp_path / 'run'}", f"paths.data_dir={tmp_path / 'cache'}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test_wer" in json.loads((tmp_path / "run" / "metrics.json").read_text())
