"""Adapters to NNI 3.0's multi-trial machinery: a ``Cell`` space in NNI's HPO format (for
the TPE strategy and the web UI), architectures the web UI can show, and an experiment
that can resume.

NNI 3.0 converts a NAS space to its HPO format (``{"_type": "choice", "_value": [...]}`` per
label) with each mutable's ``as_legacy_dict()`` in two places: the ``TPE`` strategy, which
hands the space to its tuner, and ``NasExperiment``, which shows it in the web UI's search
space tab. A ``Cell`` picks the input of each op with an ``InputChoice``, which simplifies
to ``CategoricalMultiple(values, n_chosen=1)``, and that class has no HPO form: ``TPE``
stops at once with ``NotImplementedError: as_legacy_dict is not implemented for ...
CategoricalMultiple``, and the web UI leaves every input choice out (a warning per label).

A choice of exactly one of ``values`` is an ordinary choice whose value is wrapped in a
list. :func:`legacy_space` writes it as ``{"_type": "choice", "_value": values}``;
:class:`CellTPE` runs NNI's TPE loop unchanged on a view of the model space that shows the
tuner those plain choices and turns its ``j`` back into ``[j]`` when freezing a model.
The models it submits are the real space's, so samples, engine and web UI keep NNI's
format. (The tuner reads its history by parameter id, never from the sample sent back.)

Architectures in the web UI: the web UI shows a NAS trial's architecture from the
``mutation_summary`` field of its parameters (NNI 2's format: a column per label in the
trials table, the hyper-parameter chart, the expanded row); NNI 3.0 sends the frozen
model space, whose architecture sits under ``sample`` instead, so the web UI lists the
whole serialised model and no column. :class:`WebUIModelSpace` adds ``mutation_summary``
(the sample, single-input choices as plain numbers as in the search space) to what each
trial is sent.

Resume: a resumed NNI manager first sends the strategy the finished trials' results
(``ImportData``), as it would an HPO tuner. NNI's NAS command channel knows no such
command: its listening thread dies on ``ValueError: Unknown command type``, the request
for trials behind it is never read, and the resumed search waits forever.
:class:`CellNasExperiment` builds its engine on :class:`NasCommandChannel`, which passes
over the two HPO-only commands (the strategies restore their own state from NNI's
checkpoint instead).
"""

from __future__ import annotations

import logging
from typing import Any

from nni.mutable import CategoricalMultiple, Mutable
from nni.nas.execution import training_service
from nni.nas.experiment import NasExperiment
from nni.nas.experiment.config import SimplifiedModelFormatConfig, TrainingServiceEngineConfig
from nni.nas.space import ExecutableModelSpace, ModelStatus, SimplifiedModelSpace
from nni.nas.strategy import TPE
from nni.runtime.tuner_command_channel import TunerCommandChannel
from nni.runtime.tuner_command_channel.command_type import CommandType

log = logging.getLogger(__name__)
#: commands an NNI manager sends HPO tuners only (on resume), which NAS strategies do not take.
HPO_ONLY = (CommandType.ImportData, CommandType.AddCustomizedTrialJob)


def is_single_choice(mutable: Mutable) -> bool:
    """A ``CategoricalMultiple`` that chooses exactly one value (a Cell's input choice)."""
    return isinstance(mutable, CategoricalMultiple) and mutable.n_chosen == 1


def legacy_dict(mutable: Mutable) -> dict[str, Any]:
    """NNI's HPO form of one mutable, single-value input choices included."""
    if is_single_choice(mutable):
        return {"_type": "choice", "_value": list(mutable.values)}  # type: ignore[attr-defined]
    return mutable.as_legacy_dict()  # type: ignore[attr-defined]


def legacy_space(mutables: dict[str, Mutable]) -> dict[str, dict[str, Any]]:
    """A simplified space (``space.simplify()``) in NNI's HPO format."""
    return {label: legacy_dict(m) for label, m in mutables.items()}


class _ChoiceView:
    """A single-value ``CategoricalMultiple`` as the plain choice the tuner understands."""

    def __init__(self, mutable: Mutable) -> None:
        self.mutable = mutable

    def as_legacy_dict(self) -> dict[str, Any]:
        return legacy_dict(self.mutable)


class ScalarInputsSpace:
    """The parts of a model space NNI's ``HPOTunerStrategy`` uses (``simplify``, ``freeze``),
    with single-value input choices as plain choices; anything else goes to the real space."""

    def __init__(self, space: ExecutableModelSpace) -> None:
        self.space = space
        self.wrapped = {label for label, m in space.simplify().items() if is_single_choice(m)}

    def simplify(self) -> dict[str, Any]:
        return {label: _ChoiceView(m) if label in self.wrapped else m for label, m in self.space.simplify().items()}

    def freeze(self, sample: dict[str, Any]) -> ExecutableModelSpace:
        return self.space.freeze({k: [v] if k in self.wrapped else v for k, v in sample.items()})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.space, name)


class CellTPE(TPE):
    """NNI's TPE strategy (``TpeTuner``) on spaces with ``Cell`` input choices.

    Arguments go to ``TpeTuner``; pass ``optimize_mode='maximize'`` for accuracy (the tuner
    minimises by default, and NNI's TPE strategy does not change that).
    """

    def _run(self) -> None:
        real = self._model_space
        assert real is not None
        self._model_space = ScalarInputsSpace(real)  # type: ignore[assignment]
        try:
            super()._run()
        finally:
            self._model_space = real


class NasCommandChannel(TunerCommandChannel):
    """NNI's tuner command channel, passing over the HPO-only commands a resume sends."""

    def _receive(self) -> Any:
        while True:
            command_type, data = super()._receive()
            if command_type not in HPO_ONLY:
                return command_type, data
            log.info("passing over NNI manager command %s (for HPO tuners)", command_type)


#: the field of a trial's parameters the web UI reads a NAS architecture from.
WEB_UI_FIELD = "mutation_summary"


def web_ui_summary(sample: dict[str, Any]) -> dict[str, Any]:
    """An architecture dict as the web UI's columns take it: ``[j]`` input choices as ``j``."""
    return {k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in sample.items()}


class WebUIModelSpace(SimplifiedModelSpace):
    """NNI's simplified model space, whose trials also carry their architecture where the web
    UI looks for it (``mutation_summary``)."""

    def _dump(self) -> dict[str, Any]:
        out = super()._dump()
        if self.sample is not None and self.status != ModelStatus.Initialized:
            out[WEB_UI_FIELD] = web_ui_summary(self.sample)
        return out

    @classmethod
    def _load(cls, **attrs: Any) -> SimplifiedModelSpace:
        attrs.pop(WEB_UI_FIELD, None)
        return super()._load(**attrs)


class CellNasExperiment(NasExperiment):
    """NNI's ``NasExperiment`` whose web UI lists the Cell's input choices in its search space
    and each trial's architecture (:class:`WebUIModelSpace`), and whose training-service
    engine survives a resume (:class:`NasCommandChannel`)."""

    def _send_space_to_nni_manager(self) -> None:
        self.update_search_space(legacy_space(self.model_space.simplify()))

    def executable_model_factory(self, config: Any) -> Any:
        if isinstance(config, SimplifiedModelFormatConfig):
            return WebUIModelSpace.from_model(self.model_space, self.evaluator)
        return super().executable_model_factory(config)

    def execution_engine_factory(self, config: Any) -> Any:
        if not isinstance(config, TrainingServiceEngineConfig):
            return super().execution_engine_factory(config)
        # the engine opens its channel in its constructor, by the module's name for the class
        original = training_service.TunerCommandChannel
        training_service.TunerCommandChannel = NasCommandChannel  # type: ignore[misc]
        try:
            return super().execution_engine_factory(config)
        finally:
            training_service.TunerCommandChannel = original  # type: ignore[misc]
