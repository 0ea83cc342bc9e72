"""The schema of the probe's results.json (a JSON Schema, documented field by field in
docs/results-probe.md; a test keeps the two in step)."""

from __future__ import annotations

from typing import Any

from ..core.validate import validate

SCHEMA_ID = "initlab.probe/1"

_NUM = {"type": ["number", "null"]}
_NUMS = {"type": "array", "items": _NUM}
_COUNT = {"type": "integer", "minimum": 0}
_COUNTS = {"type": "array", "items": _COUNT}
_FRACTION = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_FRACTIONS = {"type": "array", "items": _FRACTION}
_STR = {"type": "string"}


def _obj(properties: dict[str, Any], *, nullable: bool = False, closed: bool = True) -> dict[str, Any]:
    """An object schema in which every listed field is required."""
    return {
        "type": ["object", "null"] if nullable else "object",
        "additionalProperties": not closed,
        "required": list(properties),
        "properties": properties,
    }


_PER_SEED = _obj(
    {
        "mean": _NUMS,
        "std": _NUMS,
        "preact_std": _NUMS,
        "saturated_fraction": {"type": ["array", "null"], "items": _FRACTION},
        "zero_fraction": _FRACTIONS,
        "dead_fraction": _FRACTIONS,
        "nonfinite": _COUNTS,
        "grad_std": _NUMS,
        "grad_nonfinite": _COUNTS,
        "weight_grad_std": _NUMS,
    }
)
_LAYER = _obj(
    {
        "layer": {"type": "integer", "minimum": 1},
        "width": {"type": "integer", "minimum": 1},
        **dict.fromkeys(
            ["mean", "mean_spread", "std", "std_spread", "std_min", "std_max", "preact_std"], _NUM
        ),
        **dict.fromkeys(["saturated_fraction", "zero_fraction", "dead_fraction"], _FRACTION),
        "nonfinite": _COUNT,
        **dict.fromkeys(["grad_std", "grad_std_spread", "grad_std_min", "grad_std_max"], _NUM),
        "grad_nonfinite": _COUNT,
        **dict.fromkeys(["weight_grad_std", "weight_grad_std_spread"], _NUM),
        **dict.fromkeys(
            [
                "theory_q",
                "theory_mean",
                "theory_std",
                "theory_preact_std",
                "theory_grad_std",
                "theory_weight_grad_std",
            ],
            _NUM,
        ),
        "histogram": _obj(
            {
                "fractions": _FRACTIONS,
                "fractions_spread": _NUMS,
                "below_range": _FRACTION,
                "above_range": _FRACTION,
            }
        ),
        "per_seed": _PER_SEED,
    }
)
_THEORY = _obj(
    {
        "exact": {"type": "boolean"},
        "sigma_w2": {"type": "number", "minimum": 0},
        "sigma_b2": {"type": "number", "minimum": 0},
        **dict.fromkeys(["q_star", "c_star", "chi_1", "xi_q", "xi_c"], _NUM),
        "regime": {"enum": ["ordered", "critical", "chaotic", "divergent"]},
    },
    nullable=True,
)
_RUN = _obj(
    {
        "label": _STR,
        "spec": _STR,
        "input": _STR,
        "activation": _STR,
        "seeds": {"type": "array", "minItems": 1, "items": _COUNT},
        "histogram_range": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}},
        "bins": {"type": "integer", "minimum": 1},
        "edges": {"type": "array", "minItems": 2, "items": {"type": "number"}},
        "theory": _THEORY,
        "layers": {"type": "array", "minItems": 1, "items": _LAYER},
    }
)
_POSITIVE = {"type": "integer", "minimum": 1}
_CONFIG = _obj(
    {
        "activation": _STR,
        "inits": {"type": "array", "minItems": 1, "items": _STR},
        **dict.fromkeys(["layers", "width", "input_dim", "samples", "seeds"], _POSITIVE),
        "seed": _COUNT,
        "model_seeds": _COUNTS,
        "data_seed": _COUNT,
        "bias": {"type": "boolean"},
        "bins": _POSITIVE,
        "input": _STR,
    },
    closed=False,
)

#: JSON Schema of results.json (documented field by field in docs/results-probe.md).
RESULTS_SCHEMA: dict[str, Any] = _obj(
    {
        "schema": {"enum": [SCHEMA_ID]},
        "config": _CONFIG,
        "input_second_moment": _NUM,
        "runs": {"type": "array", "minItems": 1, "items": _RUN},
    }
)


def validate_results(doc: Any) -> None:
    """Raise :class:`InitlabError` unless ``doc`` (a parsed results.json) matches :data:`RESULTS_SCHEMA`."""
    validate(doc, RESULTS_SCHEMA)
