"""A small JSON Schema validator (the subset our results schemas use), so results.json files can be
checked without a third-party dependency.

Supported keywords: ``type`` (a name or a list of names: object, array, string, number, integer,
boolean, null), ``properties``, ``required``, ``additionalProperties`` (bool or a schema),
``items``, ``minItems``, ``maxItems``, ``enum``, ``minimum``, ``maximum``. Errors are
:class:`InitlabError` naming the JSON path.

>>> validate({"a": [1, 2]}, {"type": "object", "properties": {"a": {"items": {"type": "integer"}}}})
>>> validate({"a": "x"}, {"type": "object", "required": ["b"]})
Traceback (most recent call last):
...
initlab.core.errors.InitlabError: $: missing required field 'b'
"""

from __future__ import annotations

from typing import Any

from .errors import InitlabError

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "null": (type(None),),
}


def _is(value: Any, name: str) -> bool:
    if name not in _TYPES:
        raise InitlabError(f"schema uses unknown type {name!r}")
    if isinstance(value, bool) and name in ("number", "integer"):
        return False
    return isinstance(value, _TYPES[name])


def validate(doc: Any, schema: dict[str, Any], *, path: str = "$") -> None:
    """Raise :class:`InitlabError` at the first place where ``doc`` does not satisfy ``schema``."""
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_is(doc, n) for n in names):
            raise InitlabError(f"{path}: expected {' or '.join(names)}, got {type(doc).__name__} {doc!r:.60}")
    if "enum" in schema and doc not in schema["enum"]:
        raise InitlabError(f"{path}: {doc!r} is not one of {schema['enum']}")
    if _is(doc, "number"):
        if "minimum" in schema and doc < schema["minimum"]:
            raise InitlabError(f"{path}: {doc} is below the minimum {schema['minimum']}")
        if "maximum" in schema and doc > schema["maximum"]:
            raise InitlabError(f"{path}: {doc} is above the maximum {schema['maximum']}")
    if isinstance(doc, dict):
        for key in schema.get("required", []):
            if key not in doc:
                raise InitlabError(f"{path}: missing required field {key!r}")
        props: dict[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, value in doc.items():
            if key in props:
                validate(value, props[key], path=f"{path}.{key}")
            elif extra is False:
                raise InitlabError(f"{path}: unexpected field {key!r}")
            elif isinstance(extra, dict):
                validate(value, extra, path=f"{path}.{key}")
    if isinstance(doc, list):
        if "minItems" in schema and len(doc) < schema["minItems"]:
            raise InitlabError(f"{path}: needs at least {schema['minItems']} items, has {len(doc)}")
        if "maxItems" in schema and len(doc) > schema["maxItems"]:
            raise InitlabError(f"{path}: allows at most {schema['maxItems']} items, has {len(doc)}")
        if "items" in schema:
            for i, value in enumerate(doc):
                validate(value, schema["items"], path=f"{path}[{i}]")
