"""Multi-trial search pieces without an NNI manager: the registry entries, the TPE/web-UI
adapter for Cell input choices, the trial evaluator (its 64 KB payload and one real trial),
trials.csv from NNI's REST structures, and the experiment plumbing NNI 3.0 needed fixed."""

from __future__ import annotations

import json
import math
import os
import signal
from pathlib import Path
from types import SimpleNamespace

import nni
import numpy as np
import pytest
import torch
from nni.experiment.data import TrialJob
from nni.mutable import CategoricalMultiple
from nni.nas.evaluator import Evaluator
from nni.nas.space import SimplifiedModelSpace
from nni.nas.strategy import TPE, GridSearch, PolicyBasedRL, Random, RegularizedEvolution
from nni.nas.strategy.evolution import Individual
from nni.nas.strategy.middleware import Chain, Deduplication, FailureHandler
from nni.runtime.tuner_command_channel.command_type import CommandType

from nni_pibn.errors import UserError
from nni_pibn.genotype import from_json, from_nni, write_json
from nni_pibn.multitrial import experiment as mt_exp
from nni_pibn.multitrial.evaluator import build_trial_evaluator
from nni_pibn.multitrial.legacy import (
    CellTPE,
    NasCommandChannel,
    ScalarInputsSpace,
    WebUIModelSpace,
    legacy_space,
)
from nni_pibn.multitrial.progress import Progress
from nni_pibn.multitrial.results import TrialRecord, best_trial, read_trials, read_trials_csv, write_trials_csv
from nni_pibn.network import NetworkCIFAR
from nni_pibn.search.config import SearchConfig
from nni_pibn.space import PIBSpace
from nni_pibn.strategies import MULTI_TRIAL, STRATEGIES
from nni_pibn.strategies.registry import names_in

MULTI = names_in(MULTI_TRIAL)
TINY = {"dataset": "fake", "channels": 4, "layers": 3, "nodes": 2, "batch_size": 8, "limit_batches": 2,
        "image_size": 16}


def _space(**kw) -> SimplifiedModelSpace:
    return SimplifiedModelSpace.from_model(PIBSpace(channels=4, layers=3, nodes=3, **kw))


# ---- registry -----------------------------------------------------------------------------------


def test_the_four_nni_strategies_are_registered_as_multi_trial() -> None:
    assert MULTI == ["random", "evolution", "rl", "tpe"]
    expected = {"random": Random, "evolution": RegularizedEvolution, "rl": PolicyBasedRL, "tpe": CellTPE}
    for name, cls in expected.items():
        kind = STRATEGIES.get(name)
        assert kind.export_rule == "best trial" and not kind.differentiable
        built = kind.build(SearchConfig(strategy=name))
        main = built[0] if isinstance(built, Chain) else built
        assert type(main) is cls, name
    rl = STRATEGIES.get("rl").build(SearchConfig(strategy="rl"))
    assert [type(rl[i]) for i in (1, 2)] == [Deduplication, FailureHandler]


def test_evolution_reads_its_population_and_tournament_size() -> None:
    evo = STRATEGIES.get("evolution").build(SearchConfig(strategy="evolution", population_size=7, sample_size=4))
    assert (evo[0].population_size, evo[0].sample_size) == (7, 4)
    assert STRATEGIES.get("tpe").build(SearchConfig(strategy="tpe"))[0].tuner.optimize_mode.value == "maximize"
    with pytest.raises(UserError, match="sample_size 5 exceeds population_size 4"):
        STRATEGIES.get("evolution").build(SearchConfig(strategy="evolution", population_size=4, sample_size=5))


@pytest.mark.parametrize("name", MULTI)
def test_keys_of_the_other_family_are_refused(name: str) -> None:
    kind = STRATEGIES.get(name)
    for key, value in {"arch_lr": 0.5, "fd_eps": 0.5, "warmup_epochs": 2}.items():
        with pytest.raises(UserError, match=f"strategy '{name}' does not use {key}"):
            kind.check_options(SearchConfig(strategy=name, **{key: value}))
    if name != "evolution":
        with pytest.raises(UserError, match=f"strategy '{name}' does not use population_size"):
            kind.check_options(SearchConfig(strategy=name, population_size=3, sample_size=2))
    kind.check_options(SearchConfig(strategy=name, max_trials=3, trial_epochs=1, trial_concurrency=2, port=18399))
    with pytest.raises(UserError, match="strategy 'darts2' does not use max_trials"):
        STRATEGIES.get("darts2").check_options(SearchConfig(max_trials=3))


@pytest.mark.parametrize("bad", [{"max_trials": 0}, {"trial_epochs": 0}, {"sample_size": 0}, {"port": 70000},
                                 {"max_duration": -1}])
def test_bad_multi_trial_settings_are_config_errors(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        SearchConfig(strategy="random", **bad)


# ---- Cell input choices in NNI's HPO format (TPE, web UI) ----------------------------------------


def test_nni_tpe_cannot_read_a_cell_space_but_the_adapter_can() -> None:
    space = _space()
    inputs = [k for k, m in space.simplify().items() if isinstance(m, CategoricalMultiple)]
    assert inputs and all("/input_" in k for k in inputs)
    with pytest.raises(NotImplementedError, match="CategoricalMultiple"):
        space.simplify()[inputs[0]].as_legacy_dict()  # what NNI's TPE and web UI call

    legacy = legacy_space(space.simplify())
    assert legacy["normal/input_4_1"] == {"_type": "choice", "_value": [0, 1, 2, 3]}
    assert legacy["reduce/op_2_0"]["_value"] == space.simplify()["reduce/op_2_0"].values

    tuner = TPE(optimize_mode="maximize", seed=1).tuner
    tuner.update_search_space(legacy)
    view = ScalarInputsSpace(space)
    for pid in range(3):
        params = tuner.generate_parameters(pid)
        assert all(isinstance(params[k], int) for k in inputs)
        model = view.freeze(params)  # validated against the real space
        assert all(model.sample[k] == [params[k]] for k in inputs)
        assert from_nni(model.sample, op_set="pibn").nodes == 3
        tuner.receive_trial_result(pid, model.sample, {"default": 0.1 * pid})
    history = tuner._history  # results reached the tuner: 3 records for each of the space's labels
    assert not tuner._running_params and len(history) == len(legacy) and {len(v) for v in history.values()} == {3}


def test_why_grid_search_is_not_offered() -> None:
    """NNI's GridSearch walks labels in order: its first 100 architectures (one shuffle block)
    differ in three input choices of the reduction cell only."""
    space = SimplifiedModelSpace.from_model(PIBSpace(channels=4, layers=3))
    grid = GridSearch(shuffle=False)
    grid._model_space = space
    first = [m.sample for m, _ in zip(grid._grid_generator(space), range(100))]
    varying = [k for k in space.simplify() if len({json.dumps(s[k]) for s in first}) > 1]
    assert varying == ["reduce/input_4_1", "reduce/input_5_0", "reduce/input_5_1"]
    assert math.prod(len(m.values) for m in space.simplify().values()) == pytest.approx(3.84e23, rel=0.01)


def test_trials_carry_their_architecture_where_the_web_ui_reads_it() -> None:
    space = WebUIModelSpace.from_model(PIBSpace(channels=4, layers=3, nodes=2))
    model = space.random(random_state=np.random.RandomState(2))
    dumped = json.loads(nni.dump(model))
    summary = dumped["mutation_summary"]  # the web UI's field for a NAS trial's parameters
    assert summary == {k: v[0] if isinstance(v, list) else v for k, v in model.sample.items()}
    assert all(isinstance(summary[k], int) for k in summary if "/input_" in k)
    restored = nni.load(nni.dump(model))
    assert type(restored) is WebUIModelSpace and restored.sample == model.sample
    assert "mutation_summary" not in json.loads(nni.dump(space))  # the unfrozen space has none


# ---- the trial evaluator -------------------------------------------------------------------------


def test_a_trial_payload_is_small_and_carries_no_data() -> None:
    cfg = SearchConfig(strategy="random", **TINY)
    space = SimplifiedModelSpace.from_model(PIBSpace(channels=4, layers=3, nodes=2),
                                            build_trial_evaluator(cfg, 10, 3))
    model = space.random(random_state=np.random.RandomState(0))
    payload = nni.dump(model)
    assert len(payload) < 8 * 1024  # NNI refuses more than 64 KB; this one is a few KB of traces
    assert "trial_loader" in payload and '"half": "arch"' in payload and '"max_epochs": 10' in payload
    assert "bytes:" not in payload  # nothing pickled: every piece is a trace (symbol + arguments)
    restored = nni.load(payload)
    assert restored.sample == model.sample
    assert restored.evaluator.trainer.max_epochs == cfg.trial_epochs == 10
    assert len(restored.evaluator.train_dataloaders.dataset) + len(restored.evaluator.val_dataloaders.dataset) == len(
        build_trial_evaluator(cfg, 10, 3).train_dataloaders.dataset) * 2


def test_a_trial_trains_the_fixed_network_of_its_sample_and_reports_each_epoch(tmp_path: Path,
                                                                             monkeypatch) -> None:
    """``_execute`` as NNI's trial entry runs it: NetworkCIFAR of the sample, trial_epochs
    results through NNI's trial API (here NNI's own mock channel), genotype.json written."""
    cfg = SearchConfig(strategy="random", trial_epochs=2, **TINY)
    evaluator = build_trial_evaluator(cfg, 10, 3)
    model = SimplifiedModelSpace.from_model(PIBSpace(channels=4, layers=3, nodes=2), evaluator).random(
        random_state=np.random.RandomState(3))
    monkeypatch.setenv("NNI_PLATFORM", "local")  # NNIReport reports inside a trial only
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path))
    built: list[NetworkCIFAR] = []
    build = evaluator.build_network
    monkeypatch.setattr(evaluator, "build_network", lambda s: built.append(build(s)) or built[-1])
    with Evaluator.mock_runtime(model):
        model.execute()
    genotype = from_nni(model.sample, op_set="pibn")
    assert built[0].genotype == genotype and not built[0].auxiliary and built[0].layers == 3
    results = list(model.metrics.intermediates)
    assert len(results) == 2 and all(0.0 <= r <= 1.0 for r in results)
    assert model.metrics.final == results[-1]
    assert from_json(json.loads((tmp_path / "genotype.json").read_text())) == genotype


def test_a_trial_runs_on_the_searchs_thread_count(tmp_path: Path, monkeypatch) -> None:
    """``threads`` travels in the trial's payload and is set before the trial trains."""
    cfg = SearchConfig(strategy="random", trial_epochs=1, threads=2, **TINY)
    model = SimplifiedModelSpace.from_model(PIBSpace(channels=4, layers=3, nodes=2),
                                            build_trial_evaluator(cfg, 10, 3)).random(
        random_state=np.random.RandomState(0))
    restored = nni.load(nni.dump(model))
    assert restored.evaluator.threads == 2
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with Evaluator.mock_runtime(restored):
            restored.execute()
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_building_trial_loaders_leaves_other_loaders_untraced() -> None:
    """NNI marks the class of a traced function's result traceable; it must not be torch's."""
    from nni.common.serializer import is_traceable
    from torch.utils.data import DataLoader

    evaluator = build_trial_evaluator(SearchConfig(strategy="random", **TINY), 10, 3)
    assert is_traceable(evaluator.train_dataloaders)
    assert not is_traceable(DataLoader([1, 2, 3]))  # a plain loader stays plain (was: KeyError '_nni_symbol')


def test_trials_start_from_the_same_weights() -> None:
    evaluator = build_trial_evaluator(SearchConfig(strategy="random", **TINY), 10, 3)
    sample = SimplifiedModelSpace.from_model(PIBSpace(channels=4, layers=3, nodes=2)).random(
        random_state=np.random.RandomState(1)).sample
    a, b = evaluator.build_network(sample), evaluator.build_network(sample)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_an_accelerator_this_machine_lacks_is_one_line(monkeypatch) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(UserError, match="cannot set up the trials' training \\(accelerator=gpu\\)"):
        build_trial_evaluator(SearchConfig(strategy="random", accelerator="gpu", **TINY), 10, 3)


# ---- results: NNI's REST structures -> trials.csv, best trial ------------------------------------


def _job(tid: str, seq: int, status: str, sample: dict, start: int, end: int, final: float | None) -> dict:
    """A trial as NNI's REST API returns it (JSON strings inside, as the manager sends them)."""
    hp = json.dumps({"parameter_id": seq, "parameter_source": "algorithm", "parameter_index": 0,
                     "parameters": {"status": "frozen", "model_symbol": {}, "sample": sample}})
    finals = [] if final is None else [{"timestamp": end, "trialJobId": tid, "parameterId": str(seq),
                                        "type": "FINAL", "sequence": 0, "data": json.dumps(json.dumps(final))}]
    return {"trialJobId": tid, "status": status, "startTime": start, "endTime": end, "sequenceId": seq,
            "hyperParameters": [hp], "finalMetricData": finals, "logPath": f"/x/{tid}"}


def _fake_experiment() -> SimpleNamespace:
    space = _space()
    samples = [space.random(random_state=np.random.RandomState(k)).sample for k in range(3)]
    jobs = [  # NNI restarts sequenceId after a resume: trial C ran last but has sequence 0
        _job("A", 0, "SUCCEEDED", samples[0], 1000, 5000, 0.5),
        _job("B", 1, "SUCCEEDED", samples[1], 6000, 8500, 0.75),
        _job("C", 0, "FAILED", samples[2], 9000, 9500, None),
    ]
    per_epoch = {"A": [0.25, 0.5], "B": [{"default": 0.5, "search_val_acc": 0.5}, 0.75], "C": []}
    metrics = {tid: [SimpleNamespace(type="PERIODICAL", sequence=i, data=v) for i, v in enumerate(vals)]
               for tid, vals in per_epoch.items()}
    return SimpleNamespace(list_trial_jobs=lambda: [TrialJob(**j) for j in jobs], get_job_metrics=lambda: metrics,
                           samples=samples)


def test_trials_csv_from_nni_trials(tmp_path: Path) -> None:
    exp = _fake_experiment()
    records = read_trials(exp, "pibn")
    assert [r.trial_id for r in records] == ["A", "B", "C"]
    assert records[1].epochs == [0.5, 0.75] and records[1].final == 0.75 and records[1].seconds == 2.5
    assert records[2].final is None and records[2].genotype == from_nni(exp.samples[2], op_set="pibn")
    assert best_trial(records).trial_id == "B"
    write_trials_csv(tmp_path, records, epochs=2)
    rows = read_trials_csv(tmp_path / "trials.csv")
    assert list(rows[0]) == ["trial_id", "status", "genotype", "val_acc_epoch_1", "val_acc_epoch_2",
                             "final_val_acc", "seconds"]
    assert [(r["trial_id"], r["status"], r["final_val_acc"]) for r in rows] == [
        ("A", "SUCCEEDED", "0.5"), ("B", "SUCCEEDED", "0.75"), ("C", "FAILED", "")]
    assert from_json(json.loads(rows[0]["genotype"])) == records[0].genotype
    assert rows[0]["val_acc_epoch_1"] == "0.25" and rows[2]["val_acc_epoch_1"] == ""


def test_a_trials_own_genotype_wins_over_nnis_record_of_it(tmp_path: Path) -> None:
    """NNI 3.0 can list a trial with another one's sample when trials run at once; the
    genotype.json the trial wrote from the model it received is what it trained."""
    exp = _fake_experiment()
    jobs = exp.list_trial_jobs()
    for job, other in zip(jobs, (1, 0, 2)):
        job.logPath = str(tmp_path / job.trialJobId)
        Path(job.logPath).mkdir()
        write_json(from_nni(exp.samples[other], op_set="pibn"), Path(job.logPath) / "genotype.json")
    (Path(jobs[2].logPath) / "genotype.json").write_text("{not json")  # unreadable: NNI's record stands
    exp.list_trial_jobs = lambda: jobs
    records = read_trials(exp, "pibn")
    assert [r.genotype for r in records] == [from_nni(exp.samples[k], op_set="pibn") for k in (1, 0, 2)]


def test_best_trial_ties_go_to_the_earliest_and_failures_never_win() -> None:
    g = from_nni(_space().random(random_state=np.random.RandomState(0)).sample, op_set="pibn")
    recs = [TrialRecord("a", 0, "FAILED", g, final=0.9), TrialRecord("b", 1, "SUCCEEDED", g, final=0.5),
            TrialRecord("c", 2, "SUCCEEDED", g, final=0.5)]
    assert best_trial(recs).trial_id == "b"
    assert best_trial(recs[:1]) is None


def test_progress_prints_each_finished_trial_once_and_reports_the_best_to_an_outer_trial(tmp_path: Path) -> None:
    lines, sent = [], []
    outer = SimpleNamespace(report_intermediate_result=sent.append)
    cfg = SearchConfig(strategy="random", max_trials=3, trial_epochs=2)
    follow = Progress(tmp_path, cfg, "pibn", lines.append, outer, planned=("search", "train"))
    follow.exp = _fake_experiment()
    follow()
    follow()
    assert lines[0] == "trial 1/3 A SUCCEEDED: val_acc 0.5000 after 2 epochs (4.0 s); best 0.5000 (trial A)"
    assert lines[2].startswith("trial 3/3 C FAILED (0.5 s); see /x/C/trial.log; best 0.7500 (trial B)")
    assert len(lines) == 3 and (tmp_path / "trials.csv").is_file()
    assert [p["default"] for p in sent] == [0.5, 0.75, 0.75] and [p["epoch"] for p in sent] == [0, 1, 2]
    assert sent[0]["search_val_acc"] == 0.5 and math.isnan(sent[0]["train_test_acc"]) and sent[0]["epochs"] == 3
    assert all(p["unit"] == "trial" for p in sent)


# ---- experiment plumbing -------------------------------------------------------------------------


def test_an_outer_trials_variables_are_hidden_from_the_inner_experiment(monkeypatch) -> None:
    monkeypatch.setenv("NNI_PLATFORM", "local")
    monkeypatch.setenv("NNI_TRIAL_JOB_ID", "outer")
    with mt_exp.isolated_from_outer_trial():
        assert not [k for k in os.environ if k.startswith("NNI_")]
    assert os.environ["NNI_TRIAL_JOB_ID"] == "outer"


def test_sigterm_becomes_one_interrupt() -> None:
    with mt_exp.sigterm_as_interrupt():
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            signal.pthread_sigmask(signal.SIG_BLOCK, [])  # let the handler run
        os.kill(os.getpid(), signal.SIGTERM)  # a second one is ignored
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_ports(monkeypatch) -> None:
    port = mt_exp.pick_port(0)
    assert port >= mt_exp.FIRST_PORT
    import socket

    with socket.socket() as s:
        s.bind(("", 0))
        s.listen()
        busy = s.getsockname()[1]
        with pytest.raises(UserError, match=f"port {busy} is in use"):
            mt_exp.pick_port(busy)


def test_nni_checkpoints_of_a_strategy_load_again(tmp_path: Path) -> None:
    """NNI saves strategy state with torch.save; torch >= 2.6 refuses to load it by default."""
    state = {"population": [Individual({"a": 1}, 0.5)], "random_state": np.random.RandomState(0).get_state()}
    mt_exp.OwnCheckpointSerializer().save(state, tmp_path / "state.ckpt")
    with pytest.raises(Exception, match="weights_only"):
        torch.load(tmp_path / "state.ckpt.torch")
    loaded = mt_exp.OwnCheckpointSerializer().load(tmp_path / "state.ckpt")
    assert loaded["population"] == state["population"]
    with pytest.raises(FileNotFoundError):
        mt_exp.OwnCheckpointSerializer().load(tmp_path / "missing")


def test_a_resumed_managers_hpo_commands_are_passed_over() -> None:
    """A resumed NNI manager sends ImportData first; NNI's NAS channel dies on it."""
    sent = [{"type": CommandType.ImportData.value, "content": "[]"},
            {"type": CommandType.RequestTrialJobs.value, "content": "1"}]
    channel = NasCommandChannel("ws://localhost:1/tuner")
    channel._channel = SimpleNamespace(receive=lambda: sent.pop(0))
    command = channel.receive()
    assert command.command_type == CommandType.RequestTrialJobs and command.count == 1


def test_resume_without_a_record_says_why(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="experiment.json' is missing or damaged"):
        mt_exp.read_record(tmp_path)
    (tmp_path / "nni").mkdir()
    (tmp_path / "nni" / "experiment.json").write_text('{"id": "nosuchexp"}')
    with pytest.raises(UserError, match="NNI no longer lists experiment nosuchexp"):
        mt_exp.read_record(tmp_path)


def test_a_folder_holding_an_experiment_continues_it(tmp_path: Path) -> None:
    """A resumed pipeline calls the search without resume (no checkpoint to resume from); the
    experiment the folder records is continued, not replaced (here: it is gone, so says so)."""
    from nni_pibn.multitrial import search_multitrial

    (tmp_path / "nni").mkdir()
    (tmp_path / "nni" / "experiment.json").write_text('{"id": "gone1234"}')
    with pytest.raises(UserError, match="NNI no longer lists experiment gone1234"):
        search_multitrial(SearchConfig(strategy="random", **TINY), tmp_path, resume=False)
    assert not (tmp_path / "config.yaml").exists()
