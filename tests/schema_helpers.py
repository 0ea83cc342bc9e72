"""Validation of results.json documents against the shipped JSON Schemas, with the ``jsonschema``
library (a development dependency: the package only ships and loads the schemas)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from initlab.studies import schemas


def registry() -> Registry[Any]:
    """Every study's schema under its ``$id`` (the reproduce schema refers to three others)."""
    return Registry().with_resources(
        (schemas.load(s)["$id"], Resource.from_contents(schemas.load(s))) for s in schemas.STUDIES
    )


def validator(study: str) -> Draft202012Validator:
    return Draft202012Validator(schemas.load(study), registry=registry())


def validate(doc: Any, study: str) -> None:
    """Raise :class:`jsonschema.ValidationError` unless ``doc`` matches ``study``'s schema."""
    validator(study).validate(doc)


def errors(doc: Any, study: str) -> list[ValidationError]:
    """Every way ``doc`` fails ``study``'s schema (empty when it is valid)."""
    return list(validator(study).iter_errors(doc))
