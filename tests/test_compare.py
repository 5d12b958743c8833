import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.image import imread

from asrlab.cli.compare import PLOT_NAMES, main
from asrlab.tools.compare.plots import PLOTS
from asrlab.tools.compare.runs import (
    Run,
    load_runs,
    rank,
    read_error,
    run_names,
    shown_keys,
    varied_keys,
)
from asrlab.training.utterances import UtteranceCounts
from helpers import GRU, LSTM, run_metrics, write_run, write_sweep

VARIED = ["encoder._target_", "encoder.hidden", "optimizer.lr", "encoder.bidirectional"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three finished runs of a multirun and, one level deeper, a failed one."""
    return write_sweep(tmp_path_factory.mktemp("multirun"))


def test_loads_ranks_and_finds_the_varied_keys(sweep: Path) -> None:
    runs, failed = load_runs([sweep])
    assert [run.name for run in runs] == ["0", "1", "2"]
    assert [run.name for run in rank(runs, "test_wer")] == ["1", "0", "2"]
    assert [run.name for run in rank(runs, "best_val_wer")] == ["2", "0", "1"]
    assert varied_keys(runs) == VARIED
    assert runs[0].config["data.root"] == "${paths.data_dir}"
    assert [(p.epoch, round(p.wer, 2)) for p in runs[0].val_wer] == [(1, 0.5), (2, 0.3), (3, 0.15)]
    assert [p.step for p in runs[1].val_wer] == [9, 19]
    assert [(f.name, f.error) for f in failed] == [("sweep/3", "loss is NaN at step 12")]
    assert failed[0].overrides == ["encoder=gru", "optimizer.lr=0.1"]


def test_the_logger_and_the_optuna_trial_are_not_varied_settings(tmp_path: Path) -> None:
    root = write_sweep(tmp_path)
    for number, trial in enumerate(("0_gru", "1_lstm")):
        config = root / trial / ".hydra" / "config.yaml"
        tree = json.loads(config.read_text())  # helpers.config_yaml writes JSON
        trial_config = {"optuna_trial": {"number": number, "storage": "sqlite:///optuna.db"}}
        extra = {"logger": {"csv": {"name": "csv"}}} if number == 0 else trial_config
        config.write_text(json.dumps({**tree, **extra}))
    runs, _ = load_runs([root], val_curves=False)
    assert varied_keys(runs) == VARIED


def test_writes_table_csv_markdown_and_plots(
    sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main([str(sweep), "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert printed.index("10.00%") < printed.index("20.00%") < printed.index("30.00%")
    assert "sweep/3" in printed and "loss is NaN at step 12" in printed

    with (tmp_path / "runs.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "rank",
        "run",
        *VARIED,
        "test_wer",
        "best_val_wer",
        "num_params",
        "train_seconds",
        "pareto_num_params",
    ]
    assert [(r["rank"], r["run"], r["encoder._target_"]) for r in rows] == [
        ("1", "1", LSTM),
        ("2", "0", GRU),
        ("3", "2", GRU),
    ]
    assert [r["encoder.bidirectional"] for r in rows] == ["true", "", ""]
    assert [float(r["test_wer"]) for r in rows] == [0.10, 0.20, 0.30]
    # The lowest WER, the fewest parameters; the third has more than the second and a higher WER.
    assert [r["pareto_num_params"] for r in rows] == ["true", "true", "false"]
    assert rows[2]["best_val_wer"] != "" and float(rows[2]["best_val_wer"]) == pytest.approx(0.05)

    markdown = (tmp_path / "runs.md").read_text()
    table = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in markdown.splitlines()
        if line.startswith("| ") and "---" not in line
    ]
    # encoder.bidirectional comes with the LSTM (runs.csv has it): not a column of its own.
    assert table == [
        ["#", "run", "encoder", *VARIED[1:3], "test WER", "best val WER", "params", "train s"]
        + ["Pareto"],
        ["1", "1", "LSTMEncoder", "64", "0.001", "10.00%", "25.00%", "2.00M", "90.0", "params"],
        ["2", "0", "GRUEncoder", "64", "0.001", "20.00%", "15.00%", "50.0k", "30.0", "params"],
        ["3", "2", "GRUEncoder", "128", "0.003", "30.00%", "5.00%", "400.0k", "60.0", ""],
    ]
    assert "Pareto: on the front of test WER and params (`params`):" in markdown
    assert "- `sweep/3` (`encoder=gru optimizer.lr=0.1`): loss is NaN at step 12" in markdown

    for name in ("wer_vs_params.png", "wer_vs_time.png", "val_wer_curves.png", "pareto_front.png"):
        height, width, _ = imread(tmp_path / name).shape
        assert height > 100 and width > 100


def test_default_out_and_metric_option(sweep: Path, tmp_path: Path) -> None:
    run = tmp_path / "one"
    write_run(run, {"_target_": GRU, "hidden": 64}, 1e-3, run_metrics(0.2, 0.1, 10, 1.0), [0.1])
    main([str(run), "--metric", "best_val_wer"])
    assert "ranked by `best_val_wer`" in (run / "compare" / "runs.md").read_text()
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "missing")])
    assert exit_info.value.code == 2


def test_error_files(tmp_path: Path) -> None:
    assert read_error(tmp_path) is None
    (tmp_path / "error.txt").write_text("Traceback ...\nValueError: bad config\n")
    assert read_error(tmp_path) == "Traceback ...\nValueError: bad config"
    (tmp_path / "error.json").write_text('{"message": "no error key"}')
    assert read_error(tmp_path) == '{"message": "no error key"}'


def test_console_script(sweep: Path, tmp_path: Path) -> None:
    script = str(Path(sys.executable).parent / "asrlab-compare")
    done = subprocess.run(
        [script, str(sweep), "--out", str(tmp_path / "out")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "3 runs ranked by test_wer" in done.stdout
    assert (tmp_path / "out" / "runs.csv").is_file()

    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run([script, str(empty)], capture_output=True, text=True)
    assert done.returncode == 1
    assert "no run folders" in done.stderr and str(empty) in done.stderr


def test_plots_option_draws_only_the_figures_named(
    sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert PLOT_NAMES == tuple(PLOTS)
    main([str(sweep), "--out", str(tmp_path / "time"), "--plots", "time"])
    assert sorted(p.name for p in (tmp_path / "time").glob("*.png")) == ["wer_vs_time.png"]
    main([str(sweep), "--out", str(tmp_path / "none"), "--plots"])
    assert not list((tmp_path / "none").glob("*.png"))
    assert "wrote runs.csv, runs.md to" in capsys.readouterr().out


def test_start_up_loads_no_plotting_training_or_tensorboard_library() -> None:
    """matplotlib, Hydra, torch, Lightning and TensorBoard are most of the command's start-up:
    each is imported only where a run needs it (figures asked for, event files found)."""
    heavy = ["matplotlib", "hydra", "torch", "pytorch_lightning", "tensorboard"]
    code = f"import sys, asrlab.cli.compare; print(sorted(set({heavy}) & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_run_names_are_short_and_tell_sweeps_apart() -> None:
    dirs = [
        Path("out/multiruns/a/0_encoder=gru,optimizer.lr=0.001"),
        Path("out/multiruns/b/0_encoder=lstm"),
        Path("out/multiruns/b/12_encoder=cnn"),
        Path("out/runs/2026-01-01_10-00-00"),
    ]
    assert run_names(dirs) == [
        "multiruns/a/0",
        "multiruns/b/0",
        "multiruns/b/12",
        "runs/2026-01-01_10-00-00",
    ]


def test_sampled_floats_are_short_in_tables_and_whole_in_csv(tmp_path: Path) -> None:
    for name, lr in [("0_a", 0.004124736202144694), ("1_b", 0.0015542448978618604)]:
        write_run(tmp_path / name, {"_target_": GRU}, lr, run_metrics(0.2, 0.1, 10, 1.0), [0.1])
    main([str(tmp_path), "--out", str(tmp_path / "out")])
    assert "| 0.004125 |" in (tmp_path / "out" / "runs.md").read_text()
    assert "0.004124736202144694" in (tmp_path / "out" / "runs.csv").read_text()


def _run_with_utterances(
    folder: Path, lr: float, errors: list[int] | None, refs: str = "r"
) -> None:
    """A finished run whose test set is 40 utterances of 5 words (references `refs` N)."""
    wer = sum(errors) / 200 if errors else 0.5
    write_run(folder, {"_target_": GRU, "hidden": 64}, lr, run_metrics(wer, 0.1, 10, 1.0), [])
    if errors is not None:
        ids, texts = [f"data/test.jsonl:{n}" for n in range(40)], [f"{refs} {n}" for n in range(40)]
        UtteranceCounts.of(ids, texts, [errors, [5] * 40, errors, [20] * 40]).save(folder)


@pytest.fixture(scope="module")
def with_baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("versus")
    base = [1, 0, 2, 1, 0, 3, 1, 0] * 5  # WER 40 / 200 = 20%
    _run_with_utterances(root / "base", 1e-3, base)
    _run_with_utterances(root / "perfect", 2e-3, [0] * 40)
    _run_with_utterances(root / "same", 3e-3, base)
    _run_with_utterances(root / "other", 4e-3, base, refs="another test set")
    _run_with_utterances(root / "older", 5e-3, None)
    return root


def test_baseline_adds_paired_differences_and_marks_what_it_cannot_compare(
    with_baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main([str(with_baseline), "--baseline", str(with_baseline / "base"), "--out", str(tmp_path)])
    markdown = (tmp_path / "runs.md").read_text()
    assert "the baseline `base`'s, in percentage points" in markdown
    # the console says it too, and what the interval leaves out
    printed = " ".join(capsys.readouterr().out.split())
    assert "the baseline `base`'s" in printed and "not training randomness" in printed
    table = {
        cells[1]: cells[-3:]
        for line in markdown.splitlines()
        if line.startswith("| ") and "---" not in line
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    assert table["run"] == ["Δ WER", "95% CI", "P(better)"]
    assert table["base"] == ["baseline", "", ""]
    assert table["same"] == ["+0.00", "[+0.00, +0.00]", "0.000"]
    delta, interval, p_better = table["perfect"]
    low, high = (float(x) for x in interval.strip("[]").split(","))
    assert delta == "-20.00" and low < -20 < high < 0 and p_better == "1.000"
    assert table["other"] == ["other test set", "", ""]
    assert table["older"] == ["no test_utterances.npz", "", ""]
    with (tmp_path / "runs.csv").open(newline="") as f:
        rows = {row["run"]: row for row in csv.DictReader(f)}
    assert float(rows["perfect"]["wer_delta"]) == pytest.approx(-0.2)
    assert rows["other"]["versus_baseline"] == "other test set"


def test_baseline_refuses_a_named_run_of_another_test_set(
    with_baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for run, baseline, message in [
        ("other", "base", "other and the baseline base were tested on different test sets"),
        ("same", "older", "the baseline older has no test_utterances.npz"),
        ("same", "missing", "is not a finished run folder"),
    ]:
        args = [str(with_baseline / run), "--baseline", str(with_baseline / baseline)]
        with pytest.raises(SystemExit) as exit_info:
            main([*args, "--out", str(tmp_path)])
        assert exit_info.value.code == 1
        assert message in capsys.readouterr().err


def test_decoding_rtf_is_a_column_where_runs_recorded_it(tmp_path: Path) -> None:
    for name, rtf in [("0_a", 0.01234), ("1_b", None)]:
        metrics = {**run_metrics(0.2, 0.1, 10, 1.0), "decode_rtf": rtf}
        write_run(tmp_path / name, {"_target_": GRU}, 1e-3, metrics, [0.1])
    main([str(tmp_path), "--out", str(tmp_path / "out")])
    lines = (tmp_path / "out" / "runs.md").read_text().splitlines()
    # Both runs are on the front of WER and params (equal values); only one recorded an RTF.
    assert lines[4].endswith("| train s | decode RTF | Pareto |")
    assert lines[6].endswith("| 1.0 | 0.012 | params, RTF |")
    assert lines[7].endswith("| 1.0 | - | params |")
    assert "decode RTF (`RTF`; 1 run lacking one left out)" in lines[9]
    with (tmp_path / "out" / "runs.csv").open(newline="") as f:
        assert [row["decode_rtf"] for row in csv.DictReader(f)] == ["0.01234", ""]


def test_tables_leave_out_what_only_comes_with_a_varied_choice() -> None:
    """A head x encoder grid: the sizes of each encoder and head follow from the choice; a key
    that differs between runs of one choice stays."""
    gru = {"encoder._target_": "GRU", "encoder.hidden_size": 192, "encoder.num_layers": 2}
    conformer = {"encoder._target_": "Conformer", "encoder.d_model": 144, "encoder.num_layers": 4}
    ctc = {"head._target_": "CTC", "head.decoder": "${decoder}"}
    rnnt = {"head._target_": "RNNT", "head.joint_dim": 256, "head.ctc._target_": "CTC"}
    configs = [{**e, **h} for e in (gru, conformer) for h in (ctc, rnnt)]
    configs[0] = {**configs[0], "optimizer.lr": 0.01}
    configs[1] = {**configs[1], "encoder.hidden_size": 64, "optimizer.lr": 0.01}
    runs = [Run(Path(str(i)), str(i), c, [], {}, []) for i, c in enumerate(configs)]
    keys = varied_keys(runs)
    assert "encoder.d_model" in keys and "head.ctc._target_" in keys
    assert shown_keys(runs, keys) == [
        "encoder._target_",
        "encoder.hidden_size",
        "head._target_",
        "optimizer.lr",
    ]


def test_pruned_trials_are_listed_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gru = {"_target_": GRU, "hidden": 64}
    write_run(tmp_path / "0_gru", gru, 1e-3, run_metrics(0.20, 0.15, 50_000, 30.0), [0.5, 0.15])
    write_run(tmp_path / "1_gru", gru, 1e-5, None, [0.9, 0.8])
    pruned_json = {"epoch": 1, "monitor": "val/loss", "value": 0.8}  # epoch counts from 0
    (tmp_path / "1_gru" / "pruned.json").write_text(json.dumps(pruned_json))
    # The sweeper's overrides that name the study are not what the trial tried.
    study = ["++optuna_trial.storage='sqlite:///optuna.db'", "++optuna_trial.number=1"]
    overrides = tmp_path / "1_gru" / ".hydra" / "overrides.yaml"
    overrides.write_text(json.dumps([*json.loads(overrides.read_text()), *study]))
    write_run(tmp_path / "2_gru", gru, 1e-1, None, [0.9], error="loss is NaN at step 12")
    _, failed = load_runs([tmp_path], val_curves=False)
    assert [(f.name, f.pruned) for f in failed] == [("1", pruned_json), ("2", None)]

    main([str(tmp_path), "--out", str(tmp_path / "compare")])
    printed = capsys.readouterr().out
    assert "1 pruned trial" in printed and "after 2 epochs at val/loss 0.8" in printed
    assert "1 failed or unfinished run" in printed and "optuna_trial" not in printed
    markdown = (tmp_path / "compare" / "runs.md").read_text()
    pruned, failed_runs = markdown.split("## Pruned trials")[1].split(
        "## Failed or unfinished runs"
    )
    assert "- `1` (`encoder=gru optimizer.lr=1e-05`): pruned after 2 epochs" in pruned
    assert "`2`" not in pruned and "loss is NaN" in failed_runs
