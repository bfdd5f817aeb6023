"""The catalog: every action and entity type Trailkeeper knows, loaded from data, plus field typing.

The built-in catalog is `data/catalog.toml` (Slack's actions and schemas with our descriptions);
operators may add custom actions and entity types in a TOML file of the same format.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from trailkeeper.errors import ConfigError

TypeCheck = Callable[[object], bool]
# The group of Trailkeeper's events about the log itself (purges, pauses, keys): only the service
# records them, never a producer, so a producer cannot forge a purge that excuses deleted events.
SERVICE_GROUP = "trailkeeper"


@dataclass(frozen=True)
class ActionSpec:
    """One action: where it is listed, what its entity is and what it means."""

    name: str
    group: str
    entity: str
    description: str
    emits: bool = False


@dataclass(frozen=True)
class SchemaSpec:
    """One revision of an entity type's fields, as `/schemas` lists it."""

    type: str
    fields: Mapping[str, str]
    description: str = ""
    listed: bool = True


@dataclass(frozen=True)
class Catalog:
    """Actions grouped as `/actions` lists them, and entity schemas in `/schemas` order."""

    groups: Mapping[str, tuple[ActionSpec, ...]]
    schemas: tuple[SchemaSpec, ...]
    _field_checks: dict[str, dict[str, TypeCheck]] = field(default_factory=dict, repr=False)
    _actions: dict[str, ActionSpec] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for spec in self.schemas:
            checks = self._field_checks.setdefault(spec.type, {})
            for name, type_string in spec.fields.items():
                checks[name] = type_check(type_string)
        for actions in self.groups.values():
            for action in actions:
                self._actions.setdefault(action.name, action)

    def has_action(self, name: str) -> bool:
        """Is `name` an action of the catalog?"""
        return name in self._actions

    def action(self, name: str) -> ActionSpec:
        """The spec of a known action (first group wins for names listed twice)."""
        return self._actions[name]

    @property
    def action_names(self) -> frozenset[str]:
        """Every distinct action name."""
        return frozenset(self._actions)

    @property
    def entity_types(self) -> frozenset[str]:
        """Every entity type with a schema."""
        return frozenset(self._field_checks)

    def field_checks(self, entity_type: str) -> Mapping[str, TypeCheck] | None:
        """Field name -> type check for an entity type (union of its revisions), or None."""
        return self._field_checks.get(entity_type)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_dict(value: object) -> bool:
    return isinstance(value, dict)


def _is_any(value: object) -> bool:
    return True


_SCALARS: dict[str, TypeCheck] = {
    "string": _is_str,
    "int": _is_int,
    "bool": _is_bool,
    "mixed": _is_any,
    "array": lambda v: isinstance(v, list),
}


def type_check(type_string: str) -> TypeCheck:
    """A predicate for one of Slack's schema type strings (`vec<string>`, `Optional: ...`, ...).

    Null is accepted for every field: Slack's data carries nulls for absent values.
    """
    inner = _parse_type(type_string.removeprefix("Optional:").strip())
    return lambda value: value is None or inner(value)


def _parse_type(text: str) -> TypeCheck:
    text = text.strip()
    if text in _SCALARS:
        return _SCALARS[text]
    if text.startswith(("vec<", "varray<")) and text.endswith(">"):
        item = _parse_type(text[text.index("<") + 1 : -1])
        return lambda v: isinstance(v, list) and all(item(x) for x in v)
    if text.startswith("dict<") and text.endswith(">"):
        return _is_dict
    raise ValueError(f"unknown type string {text!r}")


def _schemas_from(data: Mapping[str, Any], origin: str) -> list[SchemaSpec]:
    specs = []
    entries = data.get("schema", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError([f"{origin}: `schema` must be a list of [[schema]] tables"])
    for entry in entries:
        try:
            fields = {str(k): str(v) for k, v in entry["fields"].items()}
            for type_string in fields.values():
                type_check(type_string)
            specs.append(
                SchemaSpec(
                    type=str(entry["type"]),
                    fields=fields,
                    description=str(entry.get("description", "")),
                    listed=bool(entry.get("listed", True)),
                )
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ConfigError([f"{origin}: bad [[schema]] entry {entry!r}: {exc}"]) from exc
    return specs


def _groups_from(data: Mapping[str, Any], origin: str) -> dict[str, list[ActionSpec]]:
    groups: dict[str, list[ActionSpec]] = {}
    groups_data = data.get("actions", {})
    if not isinstance(groups_data, dict) or not all(
        isinstance(g, dict) for g in groups_data.values()
    ):
        raise ConfigError([f"{origin}: `actions` must hold one [actions.<group>] table per group"])
    for group, actions in groups_data.items():
        for name, entry in actions.items():
            try:
                spec = ActionSpec(
                    name=str(name),
                    group=str(group),
                    entity=str(entry["entity"]),
                    description=str(entry["description"]),
                    emits=bool(entry.get("emits", False)),
                )
            except (KeyError, TypeError, AttributeError) as exc:
                raise ConfigError([f"{origin}: bad action {group}.{name}: {exc}"]) from exc
            groups.setdefault(str(group), []).append(spec)
    return groups


def _merge(layers: Iterable[tuple[Mapping[str, Any], str]]) -> Catalog:
    schemas: list[SchemaSpec] = []
    groups: dict[str, list[ActionSpec]] = {}
    for data, origin in layers:
        schemas.extend(_schemas_from(data, origin))
        for group, specs in _groups_from(data, origin).items():
            known = {s.name for s in groups.get(group, [])}
            groups.setdefault(group, []).extend(s for s in specs if s.name not in known)
    catalog = Catalog(groups={g: tuple(s) for g, s in groups.items()}, schemas=tuple(schemas))
    unknown = sorted(
        f"{s.group}.{s.name} -> {s.entity}"
        for specs in groups.values()
        for s in specs
        if s.entity not in catalog.entity_types
    )
    if unknown:
        raise ConfigError([f"action with an entity type that has no schema: {u}" for u in unknown])
    return catalog


def builtin_catalog_data() -> dict[str, Any]:
    """The parsed built-in catalog file."""
    text = resources.files("trailkeeper").joinpath("data/catalog.toml").read_text("utf-8")
    return tomllib.loads(text)


def load_catalog(extensions_path: str = "") -> Catalog:
    """The built-in catalog plus, if a path is given, the operator's custom actions and types."""
    layers: list[tuple[Mapping[str, Any], str]] = [(builtin_catalog_data(), "built-in catalog")]
    if extensions_path:
        path = Path(extensions_path)
        try:
            layers.append((tomllib.loads(path.read_text("utf-8")), str(path)))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError([f"catalog extensions {path}: {exc}"]) from exc
    return _merge(layers)
