"""asrlab-results: seed replicates grouped by config, mean ± sample std, failures counted."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from asrlab.cli.results import main
from asrlab.cli.smoke import SMOKE_ENV
from asrlab.tools.compare.replicates import config_hash, group_replicates, shown_overrides
from asrlab.tools.compare.runs import load_runs, read_config
from asrlab.tools.compare.significance import MIXED_TEST_SETS, NOT_RECORDED, seed_errors
from asrlab.training.utterances import UtteranceCounts
from helpers import GRU, LSTM, manifest_overrides, write_recordings, write_run


def _replicate(
    folder: Path,
    seed: int,
    encoder: dict,
    lr: float,
    wer_cer: tuple[float, float] | None,
    dirty: bool = False,
) -> None:
    """A fake run folder of `seed`: finished with (test WER, CER), or failed (None)."""
    metrics = None
    if wer_cer is not None:
        metrics = {"test_wer": wer_cer[0], "test_cer": wer_cer[1], "num_params": 50_000}
        metrics.update(train_seconds=10.0 * seed, git_commit="0123456789abcdef", git_dirty=dirty)
    error = None if wer_cer else "RuntimeError: loss is NaN at step 3"
    write_run(folder, encoder, lr, metrics, [], error=error)
    config_path = folder / ".hydra" / "config.yaml"
    config_path.write_text(json.dumps({**json.loads(config_path.read_text()), "seed": seed}))
    overrides_path = folder / ".hydra" / "overrides.yaml"
    overrides = json.loads(overrides_path.read_text())
    overrides_path.write_text(json.dumps([f"seed={seed}", "experiment=tiny", *overrides]))


@pytest.fixture(scope="module")
def replicates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GRU at lr 1e-3 over seeds 1-3 (and a failed seed 4), the same at lr 3e-3 and LSTM with
    one seed each."""
    root = tmp_path_factory.mktemp("multirun")
    gru, lstm = {"_target_": GRU, "hidden": 64}, {"_target_": LSTM, "hidden": 64}
    wers = {1: (0.10, 0.02), 2: (0.20, 0.04), 3: (0.30, 0.09), 4: None}
    for seed, wer_cer in wers.items():
        _replicate(root / f"{seed - 1}_seed={seed}", seed, gru, 1e-3, wer_cer, dirty=seed == 2)
    _replicate(root / "other" / "0_seed=1", 1, gru, 3e-3, (0.5, 0.2))
    _replicate(root / "other" / "1_seed=1", 1, lstm, 1e-3, (0.4, 0.1))
    return root


def test_replicates_share_a_config_hash_and_other_configs_do_not(replicates: Path) -> None:
    runs, failed = load_runs([replicates], val_curves=False)
    groups, ungrouped = group_replicates(runs, failed)
    assert not ungrouped
    sizes = {g.config_hash: (len(g.runs), len(g.failed), g.overrides) for g in groups}
    seeds = sorted(config_hash(read_config(replicates / f"{n}_seed={n + 1}")) for n in range(4))
    assert seeds[0] == seeds[-1] and seeds[0] in sizes
    assert sizes.pop(seeds[0]) == (3, 1, ["encoder=gru", "optimizer.lr=0.001"])
    assert sorted(sizes.values()) == [
        (1, 0, ["encoder=gru", "optimizer.lr=0.003"]),
        (1, 0, ["encoder=lstm", "optimizer.lr=0.001"]),
    ]
    assert groups[0].seeds == [1, 2, 3] and groups[0].experiment == "tiny"


def _table(markdown: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in markdown.splitlines()
        if line.startswith("| ") and "---" not in line
    ]


def test_writes_mean_and_sample_std_over_seeds(
    replicates: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "RESULTS.md"
    main([str(replicates), "--out", str(out)])
    markdown = out.read_text()
    assert markdown == capsys.readouterr().out.split("wrote ")[0]
    assert f"Regenerate with `asrlab-results {replicates} --out {out}`" in markdown
    assert "sample standard deviation (ddof=1)" in markdown

    header, *rows = _table(markdown)
    assert header[:7] == [
        "experiment",
        "overrides",
        "test set",
        "test WER %",
        "test CER %",
        "seeds",
        "failed",
    ]
    by_overrides = {row[1]: dict(zip(header, row, strict=True)) for row in rows}
    assert len(rows) == 3
    gru = by_overrides["encoder=gru optimizer.lr=0.001"]
    # WER 10, 20, 30 %: mean 20, sample std 10 (the population std would be 8.16).
    assert gru["test WER %"] == "20.00 ± 10.00"
    # CER 2, 4, 9 %: mean 5, sample std sqrt((9 + 1 + 16) / 2) = 3.61.
    assert gru["test CER %"] == "5.00 ± 3.61"
    assert (gru["seeds"], gru["failed"], gru["params"]) == ("3", "1", "50.0k")
    assert gru["train s (mean)"] == "20.0"
    assert gru["commit"] == "0123456 (dirty)"
    assert by_overrides["encoder=lstm optimizer.lr=0.001"]["test WER %"] == "40.00 ± -"
    assert by_overrides["encoder=gru optimizer.lr=0.003"]["commit"] == "0123456"

    (failure,) = [line for line in markdown.splitlines() if "loss is NaN at step 3" in line]
    assert f"(config {gru['config']})" in failure
    assert "(seed 2, test WER 20.00%)" in markdown


SPEAKERS = ["anna", "ben", "carl"]
# Test WER per fold and seed: fold means 10, 20, 45 %; seed means over folds 20 and 30 %.
FOLD_WERS = {0: {1: 0.05, 2: 0.15}, 1: {1: 0.20, 2: 0.20}, 2: {1: 0.35, 2: 0.55}}


def _fold_run(folder: Path, fold: int, seed: int, wer: float | None) -> None:
    """A fake run of speaker fold `fold` (data.source.folds=speaker), finished or failed."""
    _replicate(folder, seed, {"_target_": GRU, "hidden": 64}, 1e-3, wer and (wer, wer / 2))
    config_path = folder / ".hydra" / "config.yaml"
    config = json.loads(config_path.read_text())
    config["data"]["source"] = {"folds": "speaker", "fold": fold, "test_speaker": None}
    config_path.write_text(json.dumps(config))
    overrides_path = folder / ".hydra" / "overrides.yaml"
    overrides = json.loads(overrides_path.read_text())
    overrides_path.write_text(json.dumps([*overrides, f"data.source.fold={fold}"]))
    if wer is not None:
        metrics = json.loads((folder / "metrics.json").read_text())
        record = {"fold": fold, "test_speaker": SPEAKERS[fold], "val_speaker": SPEAKERS[fold - 2]}
        metrics["speaker_fold"] = {**record, "speakers": SPEAKERS}
        (folder / "metrics.json").write_text(json.dumps(metrics))


def test_speaker_folds_form_one_row_over_folds_and_seeds(tmp_path: Path) -> None:
    for fold, by_seed in FOLD_WERS.items():
        for seed, wer in by_seed.items():
            _fold_run(tmp_path / "loso" / f"fold{fold}_seed{seed}", fold, seed, wer)
    _fold_run(tmp_path / "loso" / "failed", 1, 3, None)
    _replicate(tmp_path / "plain", 1, {"_target_": GRU, "hidden": 64}, 1e-3, (0.3, 0.1))
    out = tmp_path / "RESULTS.md"
    main([str(tmp_path), "--out", str(out)])
    markdown = out.read_text()
    header, *rows = _table(markdown.split("## Speaker folds")[0])
    (folded,) = [dict(zip(header, r, strict=True)) for r in rows if "folds" in r[2]]
    assert folded["overrides"] == "encoder=gru optimizer.lr=0.001"
    assert folded["test set"] == "? (folds=speaker)"
    # Fold means 10, 20, 45: mean 25, std 18.03; seed means (5+20+35)/3=20, (15+20+55)/3=30.
    assert folded["test WER %"] == "25.00 ± 18.03 folds, ± 7.07 seeds"
    assert folded["test CER %"] == "12.50 ± 9.01 folds, ± 3.54 seeds"
    assert (folded["seeds"], folded["failed"]) == ("2 × 3 folds", "1")
    assert len(rows) == 2  # and the run outside folds has its own row

    fold_header, *fold_rows = _table(markdown.split("## Speaker folds")[1].split("## Runs")[0])
    assert fold_header == ["fold", "test speaker", "val speaker", "seed 1", "seed 2", "mean"]
    assert fold_rows == [
        ["0", "anna", "ben", "5.00", "15.00", "10.00 ± 7.07"],
        ["1", "ben", "carl", "20.00", "20.00", "20.00 ± 0.00"],
        ["2", "carl", "anna", "35.00", "55.00", "45.00 ± 14.14"],
    ]


def test_no_runs_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path)])
    assert exit_info.value.code == 1
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "missing")])
    assert exit_info.value.code == 2


@pytest.mark.slow
def test_seed_multirun_of_an_experiment(tiny_synth: dict[str, Path], tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "ASRLAB_DATA_DIR": str(tmp_path / "data")}
    train = [str(bin_dir / "asrlab-train"), "-m", "seed=1,2,3", "experiment=crnn", "debug=fast"]
    train += ["encoder.hidden_size=32", *manifest_overrides(tiny_synth), "hydra.sweep.dir=sweep"]
    done = subprocess.run(train, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]

    results = [str(bin_dir / "asrlab-results"), "sweep"]
    done = subprocess.run(results, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    header, *rows = _table((tmp_path / "RESULTS.md").read_text())
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert (row["experiment"], row["seeds"], row["failed"]) == ("crnn", "3", "0")
    assert row["test set"] == "manifest (test=test.jsonl)"
    assert row["overrides"] == "debug=fast encoder.hidden_size=32 data=manifest"


@pytest.mark.slow
def test_a_fold_multirun_of_fsdd_loso_gives_one_row(tmp_path: Path) -> None:
    write_recordings(tmp_path / "fsdd" / "recordings", SPEAKERS, takes=(0, 5, 10))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "ASRLAB_DATA_DIR": str(tmp_path / "data"), SMOKE_ENV: "1"}
    synth = "data.source.sources.synth_digits"
    train = [str(bin_dir / "asrlab-train"), "-m", "experiment=fsdd_loso", "seed=1,2"]
    train += [f"data.source.sources.fsdd.root={tmp_path / 'fsdd'}", f"{synth}.workers=1"]
    train += [f"{synth}.num_train=12", f"{synth}.num_val=2", f"{synth}.num_test=2"]
    done = subprocess.run(train, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]

    results = [str(bin_dir / "asrlab-results"), "outputs"]
    done = subprocess.run(results, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    markdown = (tmp_path / "RESULTS.md").read_text()
    header, *rows = _table(markdown.split("## Speaker folds")[0])
    assert len(rows) == 1
    assert dict(zip(header, rows[0], strict=True))["seeds"] == "2 × 3 folds"
    _, *folds = _table(markdown.split("## Speaker folds")[1].split("## Runs")[0])
    assert [fold[:3] for fold in folds] == [
        ["0", "anna", "ben"],
        ["1", "ben", "carl"],
        ["2", "carl", "anna"],
    ]


def _scored(folder: Path, seed: int, lr: float, errors: list[int] | None, refs: str = "r") -> None:
    """A finished replicate scored on 20 utterances of 4 words (references `refs` N)."""
    _replicate(folder, seed, {"_target_": GRU, "hidden": 64}, lr, (sum(errors or [0]) / 80, 0.1))
    if errors is not None:
        ids, texts = [f"data/test.jsonl:{n}" for n in range(20)], [f"{refs} {n}" for n in range(20)]
        UtteranceCounts.of(ids, texts, [errors, [4] * 20, errors, [9] * 20]).save(folder)


def test_baseline_row_and_each_row_against_it(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _scored(runs / "0_seed=1", 1, 1e-3, [1, 0] * 10)  # WER 12.5%
    _scored(runs / "1_seed=2", 2, 1e-3, [2, 1] * 10)  # WER 37.5%: the row's mean 25%
    _scored(runs / "2_seed=1", 1, 3e-3, [0] * 20)
    _scored(runs / "3_seed=2", 2, 3e-3, [0] * 20)
    _scored(runs / "4_seed=1", 1, 1e-2, [0] * 20)
    _scored(runs / "5_seed=2", 2, 1e-2, None)
    _scored(runs / "6_seed=1", 1, 1e-1, [0] * 20, refs="another test set")
    out = tmp_path / "RESULTS.md"
    main([str(runs), "--out", str(out), "--baseline", str(runs / "1_seed=2")])
    markdown = out.read_text()
    assert f"--baseline {runs / '1_seed=2'}`" in markdown
    assert "the baseline row's (that of `1`)" in markdown  # the run's name in ## Runs
    header, *rows = _table(markdown)
    assert header[-3:] == ["Δ WER", "95% CI", "P(better)"]
    versus = {row[1]: row[-3:] for row in rows}
    assert versus["encoder=gru optimizer.lr=0.001"] == ["baseline", "", ""]
    delta, interval, p_better = versus["encoder=gru optimizer.lr=0.003"]
    assert delta == "-25.00" and p_better == "1.000" and interval.startswith("[-")
    assert versus["encoder=gru optimizer.lr=0.01"] == ["no test_utterances.npz", "", ""]
    assert versus["encoder=gru optimizer.lr=0.1"] == ["other test set", "", ""]

    with pytest.raises(SystemExit) as exit_info:
        main([str(runs), "--out", str(out), "--baseline", str(runs / "4_seed=1")])
    assert exit_info.value.code == 1


def test_seeds_stack_into_one_system_of_one_test_set() -> None:
    ids, refs = ["t:1", "t:2"], ["a b", "c"]
    one = UtteranceCounts.of(ids, refs, [[1, 0], [2, 1], [1, 0], [3, 1]])
    two = UtteranceCounts.of(ids, refs, [[2, 1], [2, 1], [1, 0], [3, 1]])
    assert seed_errors([one, two]).errors.tolist() == [[1, 0], [2, 1]]
    other = UtteranceCounts.of(ids, ["a b", "d"], [[2, 1], [2, 1], [1, 0], [3, 1]])
    assert seed_errors([one, other]) == MIXED_TEST_SETS
    assert seed_errors([one, None]) == NOT_RECORDED


def test_a_sweep_trials_study_overrides_are_not_settings_it_tried() -> None:
    overrides = ["encoder.dropout=0.1", "seed=2", "++optuna_trial.number=3"]
    overrides.append("++optuna_trial.pruner={name:'median',n_startup_trials:5}")
    assert shown_overrides(overrides) == ["encoder.dropout=0.1"]


def test_rows_with_the_same_overrides_name_the_keys_their_configs_differ_in(
    tmp_path: Path,
) -> None:
    """Seeds of one command run before and after a commit that added a key (`dropout`) are two
    rows; RESULTS.md says which key parts them."""
    gru = {"_target_": GRU, "hidden": 64}
    for seed in (1, 2):
        _replicate(tmp_path / f"old_{seed}", seed, gru, 1e-3, (0.1, 0.02))
        _replicate(tmp_path / f"new_{seed}", seed, {**gru, "dropout": 0.0}, 1e-3, (0.2, 0.04))
    out = tmp_path / "RESULTS.md"
    main([str(tmp_path), "--out", str(out)])
    header, *rows = _table(out.read_text())
    assert [row[1] for row in rows] == ["encoder=gru optimizer.lr=0.001"] * 2
    old, new = (config_hash(read_config(tmp_path / f"{age}_1")) for age in ("old", "new"))
    first, second = sorted([old, new])
    value = {old: "absent", new: "`0.0`"}
    assert out.read_text().endswith(
        f"- `{first}` -> `{second}`: `encoder.dropout`: {value[first]} -> {value[second]}\n"
    )
