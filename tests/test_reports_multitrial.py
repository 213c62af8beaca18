"""``nni-pibn report --kind baseline`` and ``--kind strategies``: the numbers from synthetic
trials, then each on a tiny real experiment (experiments/baseline.yml, compare.yml)."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest
import yaml
from nni_experiment import experiment, variant  # type: ignore[import-not-found]

from nni_pibn.cli import main
from nni_pibn.errors import UserError
from nni_pibn.report.baseline import baseline_rows, markdown, summarize
from nni_pibn.report.experiment import Trial
from nni_pibn.report.strategies import strategy_rows

TINY_TRAIN = "--set dataset=fake --set channels=4 --set layers=2 --set epochs=2 --set batch_size=16"


def _trial(tid: str, genotype: str, acc: float, status: str = "SUCCEEDED") -> Trial:
    return Trial(tid, status, {"genotype": genotype}, acc, None, {"test_acc": acc, "params_m": 0.1})


def test_baseline_numbers() -> None:
    accs = {"random:0": 0.90, "random:1": 0.94, "random:2": 0.92, "random:3": 0.96}
    trials = [_trial(f"t{i}", g, a) for i, (g, a) in enumerate(accs.items())]
    trials += [_trial("s", "pibn", 0.95), _trial("f", "random:9", 0.99, status="FAILED")]
    rows = baseline_rows(trials)
    assert [r.genotype for r in rows] == ["random:3", "pibn", "random:1", "random:2", "random:0"]  # best first
    s = summarize(rows)
    randoms = [100 * a for a in accs.values()]
    assert s.k == 4 and s.mean == pytest.approx(statistics.fmean(randoms))
    assert s.std == pytest.approx(statistics.stdev(randoms)) and (s.low, s.high) == pytest.approx((90.0, 96.0))
    acc, rank, z = s.searched["pibn"]
    assert acc == pytest.approx(95.0) and rank == 2 and z == pytest.approx((95.0 - s.mean) / s.std)
    text = markdown(rows, s)
    assert "| random (K = 4) mean +- std | 93.00 +- 2.58 |" in text
    assert "| searched `pibn` | 95.00 (rank 2 of 5, +0.77 std from the random mean) |" in text
    tie = summarize(baseline_rows([_trial("a", "random:0", 0.5), _trial("b", "pibn", 0.5)]))
    assert tie.searched["pibn"][1] == 1 and tie.std == 0.0 and tie.searched["pibn"][2] is None


@pytest.mark.parametrize("genotypes", [["pibn", "darts_v2"], ["random:0", "random:1"]])
def test_baseline_needs_both_kinds(genotypes: list[str]) -> None:
    with pytest.raises(UserError, match="needs both random and searched genotypes"):
        summarize(baseline_rows([_trial(str(i), g, 0.5) for i, g in enumerate(genotypes)]))


def _search_folder(root: Path, strategy: str, acc: float, seconds: float, trials: int | None, budget: int) -> Path:
    root.mkdir(parents=True)
    meta = {"strategy": strategy, "final_val_acc": acc, "search_seconds": seconds}
    if trials is not None:
        meta["trials"] = trials
    (root / "genotype.json").write_text(json.dumps(meta))
    (root / "config.yaml").write_text(yaml.safe_dump({"strategy": strategy, "max_duration": budget}))
    return root


def test_strategy_rows_from_search_and_pipeline_trials(tmp_path: Path) -> None:
    one_shot = tmp_path / "a"
    _search_folder(one_shot / "pipeline" / "search", "darts2", 0.81, 300.0, None, 600)
    multi = tmp_path / "b"
    _search_folder(multi / "pipeline" / "search", "evolution", 0.9, 590.0, 42, 600)
    alone = tmp_path / "c"
    _search_folder(alone / "search", "random", 0.88, 600.0, 40, 600)
    trials = [Trial("A", "SUCCEEDED", log_path=str(one_shot), final={"test_acc": 0.93, "train_seconds": 50.0}),
              Trial("B", "SUCCEEDED", log_path=str(multi), final={"test_acc": 0.95, "train_seconds": 51.0}),
              Trial("C", "SUCCEEDED", log_path=str(alone)),
              Trial("D", "FAILED", log_path=str(tmp_path / "d"))]
    rows = strategy_rows(trials)
    assert [(r.strategy, r.family, r.test_acc) for r in rows] == [
        ("evolution", "multi-trial", 95.0), ("darts2", "one-shot", 93.0), ("random", "multi-trial", None)]
    assert (rows[0].architectures, rows[0].search_s, rows[0].budget_s, rows[0].search_acc) == (42, 590.0, 600, 90.0)
    assert rows[1].architectures is None


def test_a_swept_config_section_keeps_the_keys_set_before_it(tmp_path: Path) -> None:
    """compare.yml sweeps whole ``search`` sections (an NNI choice of dicts): each trial's
    section is merged over --config and --set, never replacing them."""
    from nni_pibn.config import load_config
    from nni_pibn.pipeline import PipelineConfig
    from nni_pibn.runs.trial_params import as_overrides

    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"search": {"dataset": "fake", "max_duration": 60}}))
    swept = as_overrides({"search": {"strategy": "evolution", "max_trials": 7}})
    cfg = load_config(PipelineConfig, config, ["search.channels=8", *swept])
    s = cfg.search
    assert (s.strategy, s.max_trials, s.channels, s.dataset, s.max_duration) == ("evolution", 7, 8, "fake", 60)


def _run_then_report(cfg: Path, tmp_path: Path, capsys, kind: str, timeout: float) -> Path:
    """Runs experiment ``cfg`` to DONE, then ``nni-pibn report ID --kind KIND``; its output folder."""
    with experiment(cfg, timeout=timeout) as (_port, exp_id, status):
        assert status["status"] == "DONE", status
    out = tmp_path / "report"
    capsys.readouterr()
    assert main(["report", str(tmp_path / "nni-experiments" / exp_id), "--kind", kind, "--out", str(out)]) == 0
    return out


@pytest.mark.nnictl
def test_baseline_report_on_a_tiny_real_experiment(tmp_path: Path, capsys) -> None:
    cfg = variant("baseline.yml", tmp_path, trialConcurrency=2, maxTrialNumber=4,
                  searchSpace={"genotype": {"_type": "choice", "_value": ["pibn", "random:0", "random:1", "random:2"]}},
                  trialCommand=f"nni-pibn train --config experiments/configs/baseline.yaml --quiet {TINY_TRAIN}")
    out = _run_then_report(cfg, tmp_path, capsys, "baseline", timeout=500)
    text = (out / "report.md").read_text()
    assert capsys.readouterr().out.startswith("| rank | genotype |")
    rows = re.findall(r"^\| (\d+) \| (\S+) \| (random|searched) \| ([\d.]+) \| ([\d.]+) \| \w+ \|$", text, re.M)
    assert sorted(r[1] for r in rows) == ["pibn", "random:0", "random:1", "random:2"]
    randoms = [float(r[3]) for r in rows if r[2] == "random"]
    mean, std = re.search(r"random \(K = 3\) mean \+- std \| ([\d.]+) \+- ([\d.]+) \|", text).groups()  # type: ignore[union-attr]
    assert float(mean) == pytest.approx(statistics.fmean(randoms), abs=0.01)
    assert float(std) == pytest.approx(statistics.stdev(randoms), abs=0.01)
    searched = next(r for r in rows if r[1] == "pibn")
    rank = 1 + sum(float(r[3]) > float(searched[3]) for r in rows)
    assert int(searched[0]) == rank and f"(rank {rank} of 4" in text
    assert (out / "baseline.png").stat().st_size > 10_000 and (out / "baseline.pdf").is_file()


@pytest.mark.nnictl
def test_compare_then_strategies_report(tmp_path: Path, capsys) -> None:
    """experiments/compare.yml shrunk: darts2, evolution and random under one budget, then the table."""
    tiny = ("--set search.dataset=fake --set search.channels=4 --set search.layers=3 --set search.nodes=2 "
            "--set search.batch_size=8 --set search.limit_batches=2 --set search.image_size=16 "
            "--set search.max_duration=120 --set train.dataset=fake --set train.channels=4 --set train.layers=2 "
            "--set train.epochs=1 --set train.batch_size=16")
    space = {"search": {"_type": "choice", "_value": [
        {"strategy": "darts2", "epochs": 2, "warmup_epochs": 1},
        {"strategy": "evolution", "max_trials": 2, "trial_epochs": 1, "population_size": 2, "sample_size": 2},
        {"strategy": "random", "max_trials": 2, "trial_epochs": 1}]}}
    cfg = variant("compare.yml", tmp_path, searchSpace=space,
                  trialCommand=f"nni-pibn pipeline --config experiments/configs/compare.yaml --quiet {tiny}")
    out = _run_then_report(cfg, tmp_path, capsys, "strategies", timeout=600)
    table = [line.split("|")[1:-1] for line in (out / "report.md").read_text().splitlines()
             if re.match(r"\| (darts2|evolution|random) ", line)]
    assert sorted(c[0].strip() for c in table) == ["darts2", "evolution", "random"]
    for cells in table:
        name, family, budget, search_s, archs, search_acc, test_acc = (c.strip() for c in cells[:7])
        assert family == ("one-shot" if name == "darts2" else "multi-trial") and budget == "120"
        assert archs == ("1 supernet" if name == "darts2" else "2")
        assert float(search_s) > 0 and 0 <= float(search_acc) <= 100 and 0 <= float(test_acc) <= 100
    accs = [float(c[6]) for c in table]
    assert accs == sorted(accs, reverse=True)
