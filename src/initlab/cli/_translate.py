"""``initlab translate``: a catalogue scheme as the initializer call of PyTorch, JAX, Flax or Keras."""

from __future__ import annotations

import argparse

from ..schemes import TARGETS, Translation, translate


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "translate",
        help="print the equivalent initializer call in torch, jax, flax or keras",
        description="Print the initializer call that draws exactly what SPEC draws, in another "
        "framework (all four without --to), says so where no exact equivalent exists, and where "
        "a similarly named initializer differs (JAX's and Keras' lecun_normal, he_normal and "
        "glorot_normal are truncated). Fans: the same layer has the same fan_in/fan_out in every "
        "framework; JAX/Flax/Keras kernels are (in, out), conv kernels HWIO.",
    )
    p.add_argument("spec", help="a scheme spec string, e.g. lecun_normal or 'trunc_normal(std=0.02)'")
    p.add_argument(
        "--to",
        action="append",
        choices=TARGETS,
        help="the framework (repeatable; default: all of " + ", ".join(TARGETS) + ")",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    targets = args.to or list(TARGETS)
    found = [translate(args.spec, to) for to in dict.fromkeys(targets)]  # all checked before printing
    print("\n\n".join(render(t) for t in found))
    return 0


def render(t: Translation) -> str:
    """One translation as plain text (code verbatim, ready to paste)."""
    verdict = "exact" if t.exact else "NO EXACT EQUIVALENT" if t.code is None else "not exact"
    if t.same_values:
        verdict += ", same values as initlab.init_ for the same generator state"
    lines = [f"{t.spec} -> {t.target} ({verdict})"]
    if t.code is not None:
        lines += ["    " + line for line in t.code.splitlines()]
    if t.bias is not None:
        lines.append(f"  bias: {t.bias}")
    lines += [f"  - {note}" for note in t.notes]
    lines.append(f"  layout: {t.layout}")
    lines.append(f"  usage: {t.usage}")
    return "\n".join(lines)
