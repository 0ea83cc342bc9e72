"""Findings: the report's statements of fact, each computed from one run's measurements.

:func:`derive` is a pure function of a reproduce results document (``ReproduceResult.to_dict()``,
with NaN or JSON ``null`` for missing numbers alike). Every number a statement quotes is stored
in the returned dict, rounded exactly as the text quotes it, and decisions are taken on those
rounded values (a ratio quoted as ``2`` is within a factor of 2), so the text never contradicts
its own numbers. :func:`fmt` is the one way a number is written. Scheme labels and specs are
written as code (backticks), never as numbers.

Criteria (the report states them; the constants below are quoted from here):

* **even**: the largest per-layer activation std is at most ``STD_RATIO_LIMIT`` times the smallest;
* **not saturated** (sigmoid, tanh): no layer has more than ``SATURATED_LIMIT_PCT`` % of its outputs
  within 1% of a bound (the threshold of ``initlab.diagnose``);
* **not collapsed**: the last layer's std is at least ``COLLAPSE_FRACTION`` times the std of
  ``phi(z)``, ``z ~ N(0, 1)``;
* **alive and finite**: no layer with more than ``DEAD_LIMIT_PCT`` % dead units, no NaN/Inf.

An init passes when it meets all four; the recommendation for an activation is the passing init
with the smallest ratio. Training speed: the first iteration at which the mean training loss of
the last ``smooth`` iterations (the compare study's window) is at most ``LOSS_TARGET``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from ..core.io import jsonable

SCHEMA_ID = "initlab.reproduce.findings/1"
LOSS_TARGET = 0.5
STD_RATIO_LIMIT = 2
SATURATED_LIMIT_PCT = 25
DEAD_LIMIT_PCT = 50
COLLAPSE_FRACTION = 0.1
SYMMETRY_WINDOW = 50  #: iterations averaged for the symmetry lab's final loss (as the lab does)
LEARNED_MARGIN = 0.1  #: a symmetry case "learned" when its final loss is this far below the label entropy
#: The classic study's conclusions, checked against this run.
CLASSIC_RECOMMENDATION = {"sigmoid": "Xavier", "tanh": "Xavier", "relu": "He"}
CLASSIC_FASTEST = "He"


# -- numbers ----------------------------------------------------------------------------------------


def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def sig(x: Any, digits: int = 3) -> float | None:
    """``x`` rounded to ``digits`` significant digits (None if missing or not finite).

    >>> sig(0.0123456), sig(44512.0), sig(None)
    (0.0123, 44500.0, None)
    """
    v = _finite(x)
    return None if v is None else float(f"{v:.{digits}g}")


def dec(x: Any, places: int) -> float | None:
    """``x`` rounded to ``places`` decimals (None if missing or not finite)."""
    v = _finite(x)
    return None if v is None else round(v, places)


def pct(x: Any, places: int = 1) -> float | None:
    """A share in [0, 1] as a percentage rounded to ``places`` decimals."""
    v = _finite(x)
    return None if v is None else round(100 * v, places)


def fmt(v: float | int | None, places: int | None = None) -> str:
    """The text of a stored number. With ``places``: that many decimals (for values stored rounded to
    them). Otherwise the shortest round-trip form without a trailing ``.0``, and an unpadded exponent
    for values below 1e-3 or from 1e5 on. Either way the text parses back to the stored value.

    >>> fmt(93.4), fmt(420), fmt(2.0), fmt(1.31e-06), fmt(2600000.0), fmt(1.0, 2), fmt(None)
    ('93.4', '420', '2', '1.31e-6', '2.6e6', '1.00', '—')
    """
    if v is None:
        return "—"
    if isinstance(v, bool):
        raise TypeError("fmt takes numbers, not booleans")
    if isinstance(v, int):
        return str(v)
    if places is not None:
        return f"{v:.{places}f}"
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        sign, digits, exp = Decimal(repr(v)).normalize().as_tuple()
        text = "".join(map(str, digits))
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{'-' if sign else ''}{mantissa}e{len(digits) - 1 + int(exp)}"
    if v.is_integer():
        return str(int(v))
    return repr(v)


def code(label: str) -> str:
    """A label or spec as inline code (never read as a number)."""
    return f"`{label}`"


def names(labels: Sequence[str]) -> str:
    quoted = [code(x) for x in labels]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _mean(values: Iterable[float]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return math.fsum(vals) / len(vals) if vals else None


def _plus_zero(v: float | None) -> float | None:
    """``-0.0`` as ``0.0`` (a rounded mean of about 0 is written 0)."""
    return None if v is None else v + 0.0


def _ratio(values: Sequence[float | None]) -> float | None:
    """max / min of positive finite values (None if any is missing, 0 or not finite)."""
    if not values or any(v is None or not math.isfinite(v) or v <= 0 for v in values):
        return None
    vals = [float(v) for v in values if v is not None]
    return max(vals) / min(vals)


# -- part 1: zero vs constant vs random -------------------------------------------------------------


def _symmetry_case(case: dict[str, Any], width: int, entropy: float) -> dict[str, Any]:
    label, its = case["label"], case["iterations"]
    out: dict[str, Any] = {"label": label, "spec": case["spec"], "diverged_at": case["diverged_at"]}
    if not its:
        out.update(learned=False, distinct_max=None, statement=f"{code(label)}: no step was logged.")
        return out
    k = len(its) - 1
    if case["diverged_at"] is not None:
        before = [i for i, it in enumerate(its) if it <= case["diverged_at"]]
        k = before[-1] if before else 0
    rows = [row[: k + 1] for row in case["distinct_units"]]
    hidden_zero = all(v == 0 for row in case["grad_max"] for v in row[: k + 1])
    out_zero = all(v == 0 for v in case["output_grad_max"][: k + 1])
    peak = sig(max((v for v in case["grad_norm"][0][: k + 1] if _finite(v) is not None), default=0.0))
    finite = [float(v) for v in case["train_loss"] if _finite(v) is not None]
    final = dec(_mean(finite[-SYMMETRY_WINDOW:]), 3) if case["diverged_at"] is None else None
    acc = case["test_accuracy"][-1] if case["test_accuracy"] else None
    out.update(
        logged_at=its[k],
        distinct_units=[row[-1] for row in rows],
        distinct_min=min(min(row) for row in rows),
        distinct_max=max(max(row) for row in rows),
        hidden_gradients_zero=hidden_zero,
        output_gradients_zero=out_zero,
        layer1_grad_norm_max=peak,
        final_loss=final,
        test_accuracy_pct=pct(acc),
        learned=final is not None and final < entropy - LEARNED_MARGIN,
    )
    parts = []
    if out["distinct_max"] == 1 and hidden_zero:
        parts.append(
            f"every hidden layer had 1 distinct unit (of {width}) at every logged step, because the "
            "hidden-layer weight gradients were exactly 0"
            + (", and so were the output weights' (only the output bias learned)" if out_zero else "")
        )
    elif out["distinct_max"] == 1:
        parts.append(
            f"the weight gradients were non-zero (layer-1 gradient norm up to {fmt(peak)}) but the same for "
            f"every unit, so every hidden layer kept 1 distinct unit (of {width}) at every logged step"
        )
    elif out["distinct_min"] == width:
        parts.append(f"all {width} units of every hidden layer stayed distinct at every logged step")
    else:
        per_layer = " / ".join(fmt(v) for v in out["distinct_units"])
        parts.append(f"distinct units per hidden layer at iteration {its[k]}: {per_layer} (of {width})")
    if case["diverged_at"] is not None:
        parts.append(
            f"it diverged at iteration {case['diverged_at']} (the loss became non-finite) and was frozen"
        )
    elif final is not None and out["learned"]:
        parts.append(
            f"its training loss fell to {fmt(final, 3)} (mean of the last {SYMMETRY_WINDOW} iterations)"
        )
    elif final is not None:
        parts.append(
            f"its training loss ended at {fmt(final, 3)} (mean of the last {SYMMETRY_WINDOW} iterations), "
            "within "
            f"{fmt(LEARNED_MARGIN)} of the label entropy {fmt(entropy, 3)}: no better than predicting the "
            "class "
            "frequencies"
        )
    if out["test_accuracy_pct"] is not None:
        parts.append(f"test accuracy {fmt(out['test_accuracy_pct'], 1)}%")
    out["statement"] = f"{code(label)}: " + "; ".join(parts) + "."
    return out


def symmetry_findings(part: dict[str, Any] | None) -> dict[str, Any] | None:
    """Per case: distinct units, gradients, final loss, accuracy; and one summary statement."""
    if part is None:
        return None
    width = part["widths"][1]
    entropy = dec(part["label_entropy"], 3) or 0.0
    cases = [_symmetry_case(c, width, entropy) for c in part["cases"]]
    learned = [c for c in cases if c["learned"]]
    stuck = [c for c in cases if c.get("distinct_max") == 1]
    diverged = [c for c in cases if c["diverged_at"] is not None]
    parts = []
    if learned:
        which = "; ".join(
            (f"{code(c['label'])}: " if len(learned) > 1 else "")
            + f"training loss {fmt(c['final_loss'], 3)}, test accuracy {fmt(c['test_accuracy_pct'], 1)}%"
            for c in learned
        )
        lead = "only " if len(learned) == 1 else ""
        parts.append(
            f"Of the {len(cases)} cases, {lead}{names([c['label'] for c in learned])} learned ({which})."
        )
    else:
        parts.append(f"None of the {len(cases)} cases learned within {part['iterations_done']} iterations.")
    if stuck:
        at_entropy = all(c["final_loss"] is not None and not c["learned"] for c in stuck)
        verb = "was" if len(stuck) == 1 else "were"
        parts.append(
            f"{names([c['label'] for c in stuck])} {verb} stuck at 1 distinct unit per hidden layer: every "
            "unit "
            "of a layer computed the same function, so a layer of "
            f"{width} units worked like a single one"
            + (", and the training loss stayed at the label entropy." if at_entropy else ".")
        )
    for c in diverged:
        parts.append(f"{code(c['label'])} diverged at iteration {c['diverged_at']}.")
    return {
        "width": width,
        "hidden_layers": len(part["widths"]) - 2,
        "iterations": part["iterations_done"],
        "label_entropy": entropy,
        "loss_window": SYMMETRY_WINDOW,
        "learned_margin": LEARNED_MARGIN,
        "partial": bool(part.get("partial")),
        "cases": cases,
        "summary": " ".join(parts),
    }


# -- part 2: activation histograms ------------------------------------------------------------------


def _probe_scheme(run: dict[str, Any], ref: float) -> dict[str, Any]:
    layers = run["layers"]
    raw = [_finite(la["std"]) for la in layers]
    stds = [sig(v) for v in raw]
    ratio = sig(_ratio(raw))
    grad_ratio = sig(_ratio([_finite(la["grad_std"]) for la in layers]))
    sat = [pct(la["saturated_fraction"]) for la in layers]
    bounded = all(v is not None for v in sat)
    sat_max = max((v for v in sat if v is not None), default=None) if bounded else None
    sat_layer = sat.index(sat_max) + 1 if sat_max is not None else None
    dead = [pct(la["dead_fraction"]) or 0.0 for la in layers]
    nonfinite = sum(int(la["nonfinite"] or 0) for la in layers)
    last = stds[-1]
    collapsed = last is not None and last < COLLAPSE_FRACTION * ref
    problems = []
    if nonfinite:
        problems.append(f"{nonfinite} NaN/Inf values")
    if ratio is None:
        problems.append("a layer's std was 0 or not finite")
    elif ratio > STD_RATIO_LIMIT:
        problems.append(f"the largest per-layer std was {fmt(ratio)} times the smallest")
    if sat_max is not None and sat_max > SATURATED_LIMIT_PCT:
        problems.append(f"{fmt(sat_max, 1)}% of layer {sat_layer}'s outputs were saturated")
    if collapsed:
        problems.append(
            f"the last layer's std, {fmt(last)}, is below {fmt(COLLAPSE_FRACTION)} × {fmt(ref)} (collapsed)"
        )
    if max(dead) > DEAD_LIMIT_PCT:
        problems.append(f"{fmt(max(dead), 1)}% of layer {dead.index(max(dead)) + 1}'s units were dead")
    th = run.get("theory") or {}
    return {
        "label": run["label"],
        "spec": run["spec"],
        "chi_1": sig(th.get("chi_1")),
        "regime": th.get("regime"),
        "std_per_layer": stds,
        "mean_last_layer": _plus_zero(dec(layers[-1]["mean"], 2)),
        "std_ratio": ratio,
        "grad_std_ratio": grad_ratio,
        "saturated_pct_per_layer": sat if bounded else None,
        "saturated_pct_max": sat_max,
        "saturated_layer": sat_layer,
        "dead_pct_max": max(dead),
        "nonfinite": nonfinite,
        "last_std": last,
        "collapsed": collapsed,
        "problems": problems,
        "passes": not problems,
    }


def _describe(s: dict[str, Any], depth: int) -> str:
    """What a row of histograms shows, in numbers."""
    first, last = s["std_per_layer"][0], s["std_per_layer"][-1]
    label = code(s["label"])
    if s["nonfinite"]:
        return f"{label}: {s['nonfinite']} values overflowed to NaN/Inf."
    if s["saturated_pct_max"] is not None and s["saturated_pct_max"] > SATURATED_LIMIT_PCT:
        return (
            f"{label}: the outputs pile up at the ends of the range: up to "
            f"{fmt(s['saturated_pct_max'], 1)}% of a "
            f"layer's outputs are saturated (layer {s['saturated_layer']}), where the gradient is close to 0."
        )
    if s["collapsed"]:
        return (
            f"{label}: by layer {depth} the outputs cluster around {fmt(s['mean_last_layer'])} with std "
            f"{fmt(last)}: "
            "every unit outputs almost the same value."
        )
    if s["std_ratio"] is not None and s["std_ratio"] > STD_RATIO_LIMIT:
        trend = "falls" if (first or 0) > (last or 0) else "grows"
        return f"{label}: the std {trend} from {fmt(first)} in layer 1 to {fmt(last)} in layer {depth}."
    lo = min(v for v in s["std_per_layer"] if v is not None)
    hi = max(v for v in s["std_per_layer"] if v is not None)
    return f"{label}: the std stays between {fmt(lo)} and {fmt(hi)} across the {depth} layers."


def _activation(act: str, doc: dict[str, Any], ref: float) -> dict[str, Any]:
    schemes = [_probe_scheme(run, ref) for run in doc["runs"]]
    depth = doc["config"]["layers"]
    passing = sorted((s for s in schemes if s["passes"]), key=lambda s: s["std_ratio"])
    rec = passing[0] if passing else None
    classic = CLASSIC_RECOMMENDATION.get(act)
    by_label = {s["label"]: s for s in schemes}
    lines = []
    if rec is not None:
        sat = ""
        if rec["saturated_pct_max"]:
            sat = f", with at most {fmt(rec['saturated_pct_max'], 1)}% of any layer's outputs saturated"
        elif rec["saturated_pct_max"] is not None:
            sat = ", with no output saturated"

        lines.append(
            f"For {act}, {code(rec['label'])} kept the std most even: the largest per-layer std was "
            f"{fmt(rec['std_ratio'])} times the smallest{sat}."
        )
        g, chi = rec["grad_std_ratio"], rec["chi_1"]
        if g is not None and g > STD_RATIO_LIMIT:
            why = ""
            if chi is not None and chi != 1:
                trend = "below 1: the gradient shrinks" if chi < 1 else "above 1: the gradient grows"
                why = f" (mean-field `chi_1` = {fmt(chi)}, {trend} on its way back to layer 1)"
            lines.append(f"Its gradient std, though, differs by a factor of {fmt(g)} between layers{why}.")
    else:
        even = min(schemes, key=lambda s: s["std_ratio"] if s["std_ratio"] is not None else math.inf)
        lines.append(
            f"For {act}, no probed init met every criterion; the most even was {code(even['label'])} "
            f"(ratio {fmt(even['std_ratio'])})."
        )
    for s in schemes:
        if s is rec:
            continue
        if s["passes"]:
            lines.append(f"{code(s['label'])} also passed, less evenly (ratio {fmt(s['std_ratio'])}).")
        else:
            lines.append(f"{code(s['label'])} failed: {'; '.join(s['problems'])}.")
    agrees = rec is not None and rec["label"] == classic
    if classic is not None and classic in by_label:
        if agrees:
            lines.append(f"The classic study recommends {code(classic)} for {act}; this run agrees.")
        elif rec is not None:
            other = by_label[classic]
            why = (
                f"{code(classic)} failed ({'; '.join(other['problems'])})"
                if not other["passes"]
                else f"its ratio was {fmt(rec['std_ratio'])} against {fmt(other['std_ratio'])} for "
                f"{code(classic)}"
            )
            lines.append(
                f"The classic study recommends {code(classic)} for {act}; in this run {code(rec['label'])} "
                f"kept the std more even: {why}."
            )
        else:
            lines.append(
                f"The classic study recommends {code(classic)} for {act}; in this run it did not pass either."
            )
    return {
        "activation": act,
        "reference_std": ref,
        "schemes": schemes,
        "descriptions": [_describe(s, depth) for s in schemes],
        "passed": [s["label"] for s in passing],
        "recommended": None if rec is None else rec["label"],
        "classic": classic,
        "agrees_with_classic": agrees,
        "statement": " ".join(lines),
    }


def histogram_findings(part: dict[str, Any] | None) -> dict[str, Any] | None:
    """Per activation and init: std per layer, ratio, saturation, collapse; the recommendation."""
    if part is None or not part.get("activations"):
        return None
    acts = part["activations"]
    first = next(iter(acts.values()))["config"]
    return {
        "layers": first["layers"],
        "width": first["width"],
        "samples": first["samples"],
        "seeds": first["seeds"],
        "activations": {
            act: _activation(act, doc, sig(part["reference_std"][act]) or 0.0) for act, doc in acts.items()
        },
    }


def glorot_findings(part: dict[str, Any] | None) -> dict[str, Any] | None:
    """The book's "Xavier" (lecun_normal) beside Glorot (xavier_normal) where fan_in != fan_out."""
    if part is None or not part.get("activations"):
        return None
    acts = part["activations"]
    cfg = next(iter(acts.values()))["config"]
    width, d = cfg["width"], part["input_dim"]
    wstd = {k: sig(v) for k, v in part["layer1_weight_std"].items()}
    per_act = {}
    lines = []
    for act, doc in acts.items():
        runs = {r["label"]: r for r in doc["runs"]}
        x = [sig(la["std"]) for la in runs["Xavier"]["layers"]]
        g = [sig(la["std"]) for la in runs["Glorot"]["layers"]]
        r1 = sig(
            (_finite(runs["Glorot"]["layers"][0]["std"]) or math.nan)
            / (_finite(runs["Xavier"]["layers"][0]["std"]) or math.nan)
        )
        rl = sig(
            (_finite(runs["Glorot"]["layers"][-1]["std"]) or math.nan)
            / (_finite(runs["Xavier"]["layers"][-1]["std"]) or math.nan)
        )
        per_act[act] = {"xavier_std": x, "glorot_std": g, "ratio_layer1": r1, "ratio_last": rl}
        lines.append(
            f"{act}: {fmt(g[0])} (Glorot) vs {fmt(x[0])} (Xavier) in layer 1, ratio {fmt(r1)}; ratio "
            f"{fmt(rl)} in layer {cfg['layers']}"
        )
    square = sig(1 / math.sqrt(width))
    statement = (
        f"With a {d}-wide input, layer 1's weights have std {fmt(wstd.get('Glorot'))} under Glorot (which "
        "averages "
        f"fan_in = {d} and fan_out = {width}) and {fmt(wstd.get('Xavier'))} under the book's Xavier "
        "(fan_in only); "
        f"the {width} × {width} hidden layers get the same std, {fmt(square)}, from both. Measured "
        "activation std: "
        + "; ".join(lines)
        + ". In the square network of the histograms above (input and every layer "
        f"{width} wide) the two rules coincide, so there the book's Xavier is Glorot's rule."
    )
    return {
        "input_dim": d,
        "width": width,
        "layers": cfg["layers"],
        "layer1_weight_std": wstd,
        "square_weight_std": square,
        "activations": per_act,
        "statement": statement,
    }


# -- part 3: MNIST ----------------------------------------------------------------------------------


def iterations_to(losses: Sequence[float | None], target: float, window: int) -> int | None:
    """The first iteration count ``t`` whose trailing mean loss (last ``window`` iterations) is <= ``target``.

    >>> iterations_to([3.0, 2.0, 0.4, 0.4, 0.4], 0.5, 2)
    4
    >>> iterations_to([3.0, None, 0.1], 0.5, 1) is None   # a non-finite loss: the model diverged
    True
    """
    acc, buf = 0.0, []
    for t, v in enumerate(losses, start=1):
        x = _finite(v)
        if x is None:
            return None
        buf.append(x)
        acc += x
        if len(buf) > window:
            acc -= buf.pop(0)
        if len(buf) == window and acc / window <= target:
            return t
    return None


def _spread(values: Sequence[float]) -> float:
    """Sample standard deviation (0 for a single value)."""
    if len(values) < 2:
        return 0.0
    m = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - m) ** 2 for v in values) / (len(values) - 1))


def _mnist_scheme(label: str, runs: list[dict[str, Any]], window: int) -> dict[str, Any]:
    reach = [iterations_to(r["train_loss"], LOSS_TARGET, window) for r in runs]
    hit = [v for v in reach if v is not None]
    ok = [r for r in runs if r["diverged_at"] is None]
    accs = [100 * float(r["test_accuracy"]) for r in ok if _finite(r["test_accuracy"]) is not None]
    tails = [_mean(float(v) for v in r["train_loss"][-window:] if _finite(v) is not None) for r in ok]
    return {
        "label": label,
        "spec": runs[0]["spec"],
        "seeds": len(runs),
        "diverged": len(runs) - len(ok),
        "iterations_to_target": reach,
        "reached": len(hit),
        "iterations_to_target_mean": round(math.fsum(hit) / len(hit)) if hit else None,
        "iterations_to_target_min": min(hit) if hit else None,
        "iterations_to_target_max": max(hit) if hit else None,
        "final_loss": dec(_mean(v for v in tails if v is not None), 3),
        "accuracy_pct": dec(_mean(accs), 2),
        "accuracy_spread_pct": dec(_spread(accs), 2) if accs else None,
        "accuracy_min_pct": dec(min(accs), 2) if accs else None,
        "accuracy_max_pct": dec(max(accs), 2) if accs else None,
    }


def _speed_key(s: dict[str, Any]) -> tuple[int, float]:
    if s["reached"] == s["seeds"]:
        return 0, float(s["iterations_to_target_mean"])
    if s["reached"]:
        return 1, -s["reached"]
    return 2, s["final_loss"] if s["final_loss"] is not None else math.inf


def mnist_findings(part: dict[str, Any] | None) -> dict[str, Any] | None:
    """Per init: iterations to loss 0.5, final loss, test accuracy over seeds; speed and accuracy order."""
    if part is None:
        return None
    window, done = part["smooth"], part["iterations_done"]
    labels = [row["label"] for row in part["summary"]]
    schemes = [_mnist_scheme(lb, [r for r in part["runs"] if r["label"] == lb], window) for lb in labels]
    speed = sorted(schemes, key=_speed_key)
    lines = []
    target = fmt(LOSS_TARGET)
    for i, s in enumerate(speed):
        name = code(s["label"])
        if s["reached"] == s["seeds"]:
            lo, hi = s["iterations_to_target_min"], s["iterations_to_target_max"]
            seeds = f"mean over {s['seeds']} seeds, from {lo} to {hi}" if s["seeds"] > 1 else "one seed"
            head = f"{name} reached a training loss of {target} first" if i == 0 else f"{name} reached it"
            lines.append(f"{head} after {s['iterations_to_target_mean']} iterations ({seeds}).")
        elif s["reached"]:
            lines.append(
                f"{name}: {s['reached']} of {s['seeds']} seeds reached {target} (the first after "
                f"{s['iterations_to_target_min']} iterations)."
            )
        else:
            lines.append(
                f"{name} did not reach a training loss of {target} within {done} iterations (its loss "
                f"ended at {fmt(s['final_loss'], 3)})."
            )
        if s["diverged"]:
            lines.append(f"{s['diverged']} of {name}'s {s['seeds']} seeds diverged.")
    fastest = speed[0] if speed[0]["reached"] == speed[0]["seeds"] else None
    if fastest is None:
        lines.insert(
            0, f"No init reached a training loss of {target} with every seed within {done} iterations."
        )
    by_acc = sorted(
        (s for s in schemes if s["accuracy_pct"] is not None), key=lambda s: -float(s["accuracy_pct"])
    )
    acc_line = (
        f"Final test accuracy ({part['eval_examples']} test images, mean ± standard deviation over seeds): "
        + (
            ", ".join(
                f"{code(s['label'])} {fmt(s['accuracy_pct'], 2)}% ± {fmt(s['accuracy_spread_pct'], 2)}"
                for s in by_acc
            )
        )
    )
    lines.append(acc_line + ".")
    separated = None
    if len(by_acc) >= 2 and by_acc[0]["seeds"] > 1:
        a, b = by_acc[0], by_acc[1]
        separated = float(a["accuracy_min_pct"]) > float(b["accuracy_max_pct"])
        if separated:
            lines.append(
                f"Every {code(a['label'])} seed beat every {code(b['label'])} seed "
                f"({fmt(a['accuracy_min_pct'], 2)}% "
                f"at worst against {fmt(b['accuracy_max_pct'], 2)}% at best)."
            )
        else:
            lines.append(
                f"The seed ranges of {code(a['label'])} ({fmt(a['accuracy_min_pct'], 2)}% to "
                f"{fmt(a['accuracy_max_pct'], 2)}%) "
                f"and {code(b['label'])} ({fmt(b['accuracy_min_pct'], 2)}% to "
                f"{fmt(b['accuracy_max_pct'], 2)}%) overlap: "
                "the difference in accuracy is within the seed spread."
            )
    present = {s["label"] for s in schemes}
    if CLASSIC_FASTEST in present:
        if fastest is not None and fastest["label"] == CLASSIC_FASTEST:
            lines.append(f"As in the classic study, {code(CLASSIC_FASTEST)} learned fastest.")
        elif fastest is not None:
            lines.append(
                f"The classic study found {code(CLASSIC_FASTEST)} fastest; in this run "
                f"{code(fastest['label'])} "
                f"reached {target} first."
            )
        else:
            lines.append(
                f"The classic study found {code(CLASSIC_FASTEST)} fastest; this run could not confirm it."
            )
    return {
        "activation": part["architecture"]["activation"],
        "widths": part["architecture"]["widths"],
        "hidden_layers": len(part["architecture"]["widths"]) - 2,
        "iterations": done,
        "seeds": part["seeds"],
        "lr": part["train"]["lr"],
        "batch_size": part["train"]["batch_size"],
        "window": window,
        "loss_target": LOSS_TARGET,
        "eval_examples": part["eval_examples"],
        "partial": bool(part.get("partial")),
        "schemes": schemes,
        "fastest": None if fastest is None else fastest["label"],
        "most_accurate": by_acc[0]["label"] if by_acc else None,
        "accuracy_separated": separated,
        "statements": lines,
    }


# -- conclusion -------------------------------------------------------------------------------------


def _recommendations(hist: dict[str, Any] | None, mnist: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if hist is None:
        return rows
    for act, a in hist["activations"].items():
        rec = next((s for s in a["schemes"] if s["label"] == a["recommended"]), None)
        row: dict[str, Any] = {
            "activation": act,
            "recommended": a["recommended"],
            "std_ratio": None if rec is None else rec["std_ratio"],
            "passed": a["passed"],
            "classic": a["classic"],
            "agrees_with_classic": a["agrees_with_classic"],
            "mnist_fastest": None,
            "mnist_fastest_iterations": None,
            "mnist_most_accurate": None,
            "mnist_accuracy_pct": None,
        }
        if mnist is not None and mnist["activation"] == act:
            by = {s["label"]: s for s in mnist["schemes"]}
            row["mnist_fastest"] = mnist["fastest"]
            if mnist["fastest"] is not None:
                row["mnist_fastest_iterations"] = by[mnist["fastest"]]["iterations_to_target_mean"]
            row["mnist_most_accurate"] = mnist["most_accurate"]
            if mnist["most_accurate"] is not None:
                row["mnist_accuracy_pct"] = by[mnist["most_accurate"]]["accuracy_pct"]
        text = (
            f"{act}: {code(row['recommended'])} (the largest per-layer std {fmt(row['std_ratio'])} times "
            "the smallest)"
            if row["recommended"]
            else f"{act}: no probed init passed"
        )
        if row["mnist_fastest"] is not None:
            text += (
                f"; on MNIST {code(row['mnist_fastest'])} reached loss {fmt(LOSS_TARGET)} first "
                f"({fmt(row['mnist_fastest_iterations'])} iterations)"
            )
        if row["mnist_most_accurate"] is not None:
            best, acc = code(row["mnist_most_accurate"]), fmt(row["mnist_accuracy_pct"], 2)
            text += f" and {best} ended most accurate ({acc}%)"
        if row["classic"] is not None:
            text += (
                "; agrees with the classic study"
                if row["agrees_with_classic"]
                else f"; the classic study says {code(row['classic'])}"
            )
        row["statement"] = text + "."
        rows.append(row)
    return rows


def _departures(
    hist: dict[str, Any] | None, mnist: dict[str, Any] | None, recs: list[dict[str, Any]]
) -> list[str]:
    out = []
    for r in recs:
        if r["classic"] is not None and not r["agrees_with_classic"]:
            got = code(r["recommended"]) if r["recommended"] else "no probed init"
            out.append(
                f"For {r['activation']} the classic study recommends {code(r['classic'])}; by this report's "
                f"criterion (the most even std without saturation or collapse) this run measured {got} as "
                "the better choice."
            )
    if mnist is not None and mnist["fastest"] is not None and mnist["fastest"] != CLASSIC_FASTEST:
        out.append(
            f"On MNIST the classic study found {code(CLASSIC_FASTEST)} fastest; this run measured "
            f"{code(mnist['fastest'])} first to a training loss of {fmt(LOSS_TARGET)}."
        )
    if mnist is not None and mnist["most_accurate"] is not None and mnist["most_accurate"] != CLASSIC_FASTEST:
        out.append(
            f"On MNIST {code(mnist['most_accurate'])}, not {code(CLASSIC_FASTEST)}, ended most accurate."
        )
    return out


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    """All findings of a reproduce results document (its ``findings`` entry, if any, is ignored)."""
    doc = jsonable({k: v for k, v in doc.items() if k != "findings"})
    parts = doc["parts"]
    sym = symmetry_findings(parts.get("symmetry"))
    hist = histogram_findings(parts.get("probe"))
    glorot = glorot_findings(parts.get("glorot"))
    mnist = mnist_findings(parts.get("compare"))
    recs = _recommendations(hist, mnist)
    departures = _departures(hist, mnist, recs)
    env = doc["environment"]
    seconds = {k: dec(v, 1) for k, v in doc["seconds"].items()}
    if doc["seconds"].get("total") is not None and doc["seconds"].get("figures") is not None:
        seconds["overall"] = dec(doc["seconds"]["total"] + doc["seconds"]["figures"], 1)
    depth = (hist or {}).get("layers") or doc["config"]["layers"]
    return {
        "schema": SCHEMA_ID,
        "partial": bool(doc["partial"]),
        "quick": bool(doc["quick"]),
        "criteria": {
            "std_ratio_limit": STD_RATIO_LIMIT,
            "saturated_limit_pct": SATURATED_LIMIT_PCT,
            "collapse_fraction": COLLAPSE_FRACTION,
            "dead_limit_pct": DEAD_LIMIT_PCT,
            "loss_target": LOSS_TARGET,
        },
        "setup": {
            "seed": doc["config"]["seed"],
            "lr": doc["config"]["lr"],
            "batch_size": doc["config"]["batch_size"],
            "layer_numbers": list(range(1, max(depth, 4) + 1)),
            "cpu_count": env.get("cpu_count"),
            "torch_threads": env.get("torch_threads"),
            "load_average": dec(env.get("load_average"), 1),
            "seconds": seconds,
        },
        "symmetry": sym,
        "histograms": hist,
        "glorot": glorot,
        "mnist": mnist,
        "recommendations": recs,
        "departures": departures,
        "agrees_with_classic": not departures and bool(recs) and mnist is not None,
    }
