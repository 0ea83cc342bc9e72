"""The JSON Schemas (draft 2020-12) of every study's ``results.json``, shipped as package data.

One file per study, ``<study>.schema.json`` beside this module; each is documented field by field in
``docs/results-<study>.md`` (a test keeps the two in step). A document names its schema in its
``"schema"`` field, ``"initlab.<study>/<n>"``; the schema's ``$id`` is ``urn:initlab:schema:<study>/<n>``,
the reproduce schema refers to the probe, symmetry and compare schemas by those ids, and the phase
schema to the sweep schema's rows.

The package itself never validates (that needs the ``jsonschema`` library, a development
dependency): ``jsonschema.Draft202012Validator(load("probe")).validate(doc)``.

>>> sorted(STUDIES)
['compare', 'depth', 'diagnose', 'phase', 'probe', 'reproduce', 'sweep', 'symmetry']
>>> load("probe")["properties"]["schema"]
{'const': 'initlab.probe/2'}
>>> load("probe") is load("probe")  # read once, then shared: do not modify
True
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from ...core.errors import unknown

#: The studies whose ``results.json`` has a schema here, with the version each one writes.
STUDIES: dict[str, int] = {
    "probe": 2,
    "compare": 1,
    "symmetry": 1,
    "reproduce": 1,
    "diagnose": 1,
    "depth": 1,
    "sweep": 1,
    "phase": 1,
}


def schema_id(study: str) -> str:
    """The ``"schema"`` value of a study's results.json: ``"initlab.<study>/<n>"``.

    >>> schema_id("compare")
    'initlab.compare/1'
    """
    return f"initlab.{_known(study)}/{STUDIES[study]}"


@cache
def load(study: str) -> dict[str, Any]:
    """The JSON Schema of ``study``'s results.json (parsed once; treat it as read-only)."""
    name = _known(study)
    text = resources.files(__package__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _known(study: str) -> str:
    if study not in STUDIES:
        raise unknown("results schema", study, STUDIES)
    return study
