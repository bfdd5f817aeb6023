"""Slack's exact body shapes for `/audit/v1/actions` and `/audit/v1/schemas`, rendered once."""

from __future__ import annotations

import orjson

from trailkeeper.catalog import Catalog


def actions_body(catalog: Catalog) -> bytes:
    """`{"actions":{"<group>":["<name>", ...], ...}}` in catalog order."""
    groups = {group: [spec.name for spec in specs] for group, specs in catalog.groups.items()}
    return orjson.dumps({"actions": groups})


def schemas_body(catalog: Catalog) -> bytes:
    """`{"schemas":[{"type":T,T:{field:type-string}}, ...]}`, revisions in catalog order."""
    schemas = [{"type": s.type, s.type: dict(s.fields)} for s in catalog.schemas if s.listed]
    return orjson.dumps({"schemas": schemas})
