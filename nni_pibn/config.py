"""YAML configs that map onto dataclasses: unknown keys are errors, ``--set`` overrides.

A config class is a (possibly nested) dataclass whose defaults are the paper's protocol.
:func:`load_config` reads an optional YAML file, applies ``key=value`` overrides (dotted
keys reach nested sections, values are parsed as YAML scalars) and type-checks the result:
keys must be names, integers must fit in 64 bits, numbers must be finite (no ``.nan`` or
``.inf``); each config class checks its own ranges in ``__post_init__``.
:func:`config_to_dict` gives the resolved config that every run writes beside its outputs.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .errors import UserError

C = TypeVar("C")
#: integers a config accepts: what fits in a signed 64-bit value (seeds go to numpy and torch).
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def config_to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except UserError as exc:
                errors.append(str(exc))
        raise UserError(errors[0] if errors else f"{where}: bad value {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            value = [value]
        inner = args[0] if args else Any
        return [_coerce(v, inner, where) for v in value]
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a mapping of {annotation.__name__} fields, got {value!r}")
        return _build(annotation, value, where + ".")
    if annotation is Any:
        return value
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"{where}: expected true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if not INT_MIN <= value <= INT_MAX:
                raise UserError(f"{where}: {_short(value)} does not fit in 64 bits; use a smaller integer")
            return value
        raise UserError(f"{where}: expected an integer, got {_short(value)}")
    if annotation is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                raise UserError(f"{where}: expected a number, got {_short(value)}") from None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise UserError(f"{where}: expected a finite number, got {_short(value)}")
            return number
        raise UserError(f"{where}: expected a number, got {_short(value)}")
    if annotation is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise UserError(f"{where}: expected a string, got {value!r}")
    return value


def _short(value: Any) -> str:
    """``repr(value)``, cut to one readable piece (a 400-digit seed, a nested mapping)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _build(cls: type[C], data: dict[str, Any], prefix: str = "") -> C:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    odd = [k for k in data if not isinstance(k, str)]
    if odd:
        raise UserError(f"config key {_short(odd[0])} under {prefix.rstrip('.') or 'the top level'} is not a name; "
                        f"keys are names such as {next(iter(fields))} (quote it in YAML if it looks like a number)")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise UserError(
            f"unknown config key {prefix + unknown[0]!r}; valid keys: {', '.join(fields)}"
        )
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(value, hints[name], prefix + name)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise UserError(f"config {prefix.rstrip('.') or cls.__name__}: {exc}") from None


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UserError(f"--set {key}: {part!r} is not a config section")
        node = child
    last = parts[-1]
    if isinstance(value, dict) and isinstance(node.get(last), dict):
        value = _merge(node[last], value)  # a whole section (an NNI choice of dicts) keeps earlier keys
    node[last] = value


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``["a=1", "train.lr=0.1"]`` -> nested dict with YAML-parsed values."""
    out: dict[str, Any] = {}
    for item in items:
        key, eq, raw = item.partition("=")
        if not eq or not key:
            raise UserError(f"--set {item!r}: expected key=value, e.g. --set epochs=10")
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        _set_dotted(out, key.strip(), value)
    return out


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def read_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"config file {str(p)!r} does not exist; pass an existing YAML file to --config")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise UserError(f"config file {str(p)!r} is not UTF-8 text; save it as UTF-8 YAML") from None
    except OSError as exc:
        raise UserError(f"config file {str(p)!r} cannot be read ({exc.strerror or type(exc).__name__})") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" at line {line + 1}" if line is not None else ""
        raise UserError(f"config file {str(p)!r} is not valid YAML{where}; fix its syntax") from None
    if not isinstance(data, dict):
        raise UserError(f"config file {str(p)!r} must hold a mapping of keys, got {type(data).__name__}")
    return data


def load_config(
    cls: type[C],
    path: str | Path | None = None,
    overrides: Iterable[str] = (),
    base: dict[str, Any] | None = None,
) -> C:
    """Defaults of ``cls`` <- ``base`` <- YAML file <- ``key=value`` overrides."""
    data: dict[str, Any] = dict(base or {})
    if path is not None:
        data = _merge(data, read_yaml(path))
    data = _merge(data, parse_overrides(overrides))
    return _build(cls, data)
