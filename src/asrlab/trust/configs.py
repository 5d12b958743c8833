"""A config that comes from a file (a checkpoint, a run folder, `--config-path`) is data, not code.

`hydra.utils.instantiate` imports and calls whatever a `_target_` names. Before anything of such a
config is instantiated, `check_config` walks all of it, at any depth, hydra node included, and
refuses with `UntrustedTargetError`:

- a `_target_` that none of asrlab's own config groups use, unless the user trusts it: in the
  environment (`ASRLAB_TRUSTED_TARGETS=mypkg.Encoder,otherpkg.`) or on the command line
  (`+trust=[mypkg.Encoder,otherpkg.]`), never inside the file; an entry ending in `.` trusts a
  module prefix;
- a `_target_` that is not a plain string (an interpolation could fill it in later);
- an interpolation calling a resolver that asrlab's configs do not use (`oc.create`, `oc.decode`
  and `oc.select` can build a node with a `_target_` when the config is resolved);
- in a composed config, a hydra logging config, `hydra.job.env_set` or `hydra.searchpath` other
  than Hydra's and the command line's: logging configs call any class and open any file.
"""

import functools
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml
from hydra import compose, initialize_config_dir
from hydra._internal.utils import get_args_parser
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

import asrlab.conf

ENV = "ASRLAB_TRUSTED_TARGETS"
CONF = Path(asrlab.conf.__file__).parent
# The command-line key whose list of targets (or module prefixes ending in `.`) is trusted.
TRUST_KEY = "trust"
# Hydra settings that run code or write files without a `_target_` (logging configs name classes
# and files); a file-borne config must leave them as Hydra and the command line set them.
HYDRA_GUARDED = ("job_logging", "hydra_logging", "job.env_set", "searchpath")
# After `${`: a node reference, or a resolver's name and its arguments.
_INTERPOLATION = re.compile(r"\$\{\s*([\w.\-]*)\s*(.)")


class UntrustedTargetError(ValueError):
    """A config from a file that would instantiate something asrlab does not trust."""


def _walk(node: Any, key: str) -> Iterator[tuple[str, Any]]:
    """Every (key path, value) of a tree of dicts and lists, containers included."""
    yield key, node
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _walk(value, f"{key}.{name}" if key else str(name))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{key}[{i}]")


def _yaml_files() -> Iterator[Any]:
    for path in sorted(CONF.rglob("*.yaml")):
        yield yaml.safe_load(path.read_text())


@functools.cache
def own_targets() -> frozenset[str]:
    """Every `_target_` in asrlab's config groups (conf/**.yaml)."""
    return frozenset(
        value["_target_"]
        for tree in _yaml_files()
        for _, value in _walk(tree, "")
        if isinstance(value, dict) and isinstance(value.get("_target_"), str)
    )


@functools.cache
def own_resolvers() -> frozenset[str]:
    """The resolvers that asrlab's config groups call (`hydra`, `now`, `oc.env`)."""
    return frozenset(
        name
        for tree in _yaml_files()
        for _, value in _walk(tree, "")
        if isinstance(value, str)
        for name, after in _INTERPOLATION.findall(value)
        if after == ":"
    )


def _entries(text: str) -> list[str]:
    return [entry.strip() for entry in text.split(",") if entry.strip()]


def command_line_trust(overrides: Sequence[str]) -> list[str]:
    """The targets that `trust=[...]` (or `+trust=...`) among command-line `overrides` trusts."""
    trusted: list[str] = []
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        if override.key_or_group == TRUST_KEY:
            value = override.value()
            trusted += [str(v) for v in value] if isinstance(value, list) else _entries(str(value))
    return trusted


def user_trust() -> list[str]:
    """What the user trusts: `ASRLAB_TRUSTED_TARGETS`, and `trust=` in this Hydra job's
    command-line overrides."""
    overrides = HydraConfig.get().overrides.task if HydraConfig.initialized() else []
    return _entries(os.environ.get(ENV, "")) + command_line_trust(overrides)


def _trusted(target: str, trusted: Sequence[str]) -> bool:
    return target in own_targets() or any(
        target == entry or (entry.endswith(".") and target.startswith(entry)) for entry in trusted
    )


def _refuse(source: str, key: str, what: str, fix: str = "") -> UntrustedTargetError:
    fix = fix or (
        f"if you trust it, set {ENV}=TARGET (a module prefix ends in '.') or add "
        f"+{TRUST_KEY}=[TARGET] on the command line"
    )
    return UntrustedTargetError(
        f"{source}: {key}: {what}; refused before anything was instantiated: {fix}"
    )


def check_config(cfg: Any, source: str, key: str = "", trusted: Sequence[str] = ()) -> None:
    """Raises `UntrustedTargetError` naming `source` (the file), the key path under `key` and
    the target, for the first thing in `cfg` (a config, unresolved) that could instantiate an
    untrusted target (see the module docstring); `trusted` adds to `user_trust()`."""
    trusted = [*trusted, *user_trust()]
    tree = OmegaConf.to_container(cfg, resolve=False) if OmegaConf.is_config(cfg) else cfg
    if not isinstance(tree, dict):  # OmegaConf.create would parse a string as YAML
        raise _refuse(source, key or "config", f"a {type(tree).__name__}, not a mapping")
    for path, value in _walk(tree, key):
        if isinstance(value, str):
            for name, after in _INTERPOLATION.findall(value):
                if after not in "}:" or (after == ":" and name not in own_resolvers()):
                    what = f"the interpolation {value!r} could build a node with a _target_"
                    raise _refuse(source, path, what)
        if not isinstance(value, dict) or "_target_" not in value:
            continue
        target, target_key = value["_target_"], f"{path}._target_" if path else "_target_"
        if not isinstance(target, str) or "${" in target:
            raise _refuse(source, target_key, f"{target!r} is not a plain target name")
        if not _trusted(target, trusted):
            what = f"{target} is not a target that asrlab's configs use"
            raise _refuse(source, target_key, what)


def _hydra_overrides(overrides: Sequence[str]) -> list[str]:
    """The overrides of Hydra's own settings (hydra.X=, hydra/GROUP=)."""
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    return [o.input_line for o in parsed if o.key_or_group.startswith(("hydra.", "hydra/"))]


def _variants(overrides: Sequence[str]) -> list[list[str]]:
    """The overrides without sweeps, and with each value of each discrete sweep in turn (a
    sweep over a config group picks a file per value)."""
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    plain = [o.input_line for o in parsed if not o.is_sweep_override()]
    return [plain] + [
        [*plain, f"{o.get_key_element()}={value}"]
        for o in parsed
        if o.is_discrete_sweep()
        for value in o.sweep_string_iterator()
    ]


def check_command_line(argv: Sequence[str]) -> None:
    """For `asrlab-train ARGS`: when `--config-path` is a folder of files (not asrlab's own
    configs), the config Hydra will compose from it is checked with `check_config` (once per
    value of each sweep), and its hydra logging, environment and search path must be Hydra's
    own or the command line's. Raises `UntrustedTargetError` naming the primary config file."""
    args = get_args_parser().parse_args(list(argv))
    folder = args.config_path
    if folder is None or not os.path.isabs(folder) or Path(folder).resolve() == CONF.resolve():
        return  # relative config paths are inside the package
    name = args.config_name or "train"
    source = str(Path(folder).resolve() / f"{name}.yaml")
    trusted = command_line_trust(args.overrides)
    with initialize_config_dir(config_dir=str(Path(folder).resolve()), version_base="1.3"):
        for overrides in _variants(args.overrides):
            try:
                cfg = compose(name, overrides, return_hydra_config=True)
                hydra_own = compose(None, _hydra_overrides(overrides), return_hydra_config=True)
            except Exception as err:  # noqa: BLE001 - any failure refuses; Hydra's own says why
                what = f"cannot compose it to check its targets ({type(err).__name__}: {err})"
                raise _refuse(source, "config", " ".join(what.split()), "fix it first") from None
            check_config(cfg, source, trusted=[*trusted, *own_hydra_targets(hydra_own.hydra)])
            for key in HYDRA_GUARDED:
                got, expected = (
                    OmegaConf.to_container(OmegaConf.select(c.hydra, key), resolve=False)
                    for c in (cfg, hydra_own)
                )
                if got != expected:
                    what = "differs from Hydra's own (logging configs call classes, open files)"
                    raise _refuse(
                        source, f"hydra.{key}", what, "set it on the command line instead"
                    )


def own_hydra_targets(hydra: DictConfig) -> list[str]:
    """The `_target_`s of Hydra's own settings (its launcher, sweeper)."""
    return [
        value["_target_"]
        for _, value in _walk(OmegaConf.to_container(hydra, resolve=False), "")
        if isinstance(value, dict) and isinstance(value.get("_target_"), str)
    ]
