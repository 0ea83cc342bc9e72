"""Build the reproduce report -- ``report.html`` (self-contained) and ``report.md`` -- from a results
document and the figure files next to it.

A pure function of its inputs: :func:`build` derives the findings from the measurements in ``doc``
(:func:`initlab.report.findings.derive`; a stored ``findings`` entry is ignored), lays them out as
sections of paragraphs, lists, tables and figures, and renders that one layout twice with Jinja2:
HTML (autoescaped, CSS inline, each figure an inline base64 PNG with alt text, no JavaScript, no
external URL) and Markdown (figures referenced as the PNG files beside it). Every number in the
text comes from the findings, formatted by :func:`~initlab.report.findings.fmt`; labels and
versions are inline code.
"""

from __future__ import annotations

import base64
import html
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .findings import LOSS_TARGET, code, derive, fmt, names

#: Figure stems, in the order the report shows them (``<stem>.png`` in the figure folder).
FIGURES = (
    "symmetry_units",
    "symmetry_training",
    "histograms_sigmoid",
    "histograms_relu",
    "histograms_tanh",
    "std_per_layer",
    "glorot_vs_xavier",
    "mnist_compare",
)


@dataclass(frozen=True)
class Figure:
    stem: str
    caption: str
    alt: str


@dataclass(frozen=True)
class Table:
    caption: str
    header: list[str]
    rows: list[list[str]]
    numeric: list[bool]


@dataclass
class Section:
    id: str
    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def items(self, texts: list[str]) -> None:
        if texts:
            self.blocks.append(("list", texts))

    def h3(self, text: str) -> None:
        self.blocks.append(("h3", text))

    def note(self, text: str) -> None:
        self.blocks.append(("note", text))

    def table(self, caption: str, header: list[str], rows: list[list[str]], numeric: list[bool]) -> None:
        self.blocks.append(("table", Table(caption, header, rows, numeric)))

    def figure(self, stem: str, caption: str, alt: str) -> None:
        self.blocks.append(("figure", Figure(stem, caption, alt)))


@dataclass(frozen=True)
class Report:
    html: str
    markdown: str
    findings: dict[str, Any]


# -- layout -----------------------------------------------------------------------------------------


def _pct(v: float | None, places: int = 1) -> str:
    return "—" if v is None else f"{fmt(v, places)}%"


def _not_run(sec: Section, what: str) -> Section:
    sec.note(f"Not run: the run was interrupted before {what}.")
    return sec


def _answer(f: dict[str, Any]) -> Section:
    sec = Section("answer", "The answer, from this run")
    items = []
    if f["symmetry"] is not None:
        items.append(f["symmetry"]["summary"])
    items += [r["statement"] for r in f["recommendations"]]
    mnist = f["mnist"]
    if mnist is not None:
        items.append(mnist["statements"][0])
    if f["departures"]:
        items.append("**Departures from the classic study.** " + " ".join(f["departures"]))
    elif f["agrees_with_classic"]:
        items.append("On every point checked, this run agrees with the classic study.")
    sec.items(items)
    return sec


def _question(f: dict[str, Any]) -> Section:
    sec = Section("question", "The question")
    sec.p(
        "Which initial weights let a neural network learn, and why do the others fail? The classic study "
        "answers in three steps, and so does this report: first, what happens when every weight starts "
        "equal (zero or a constant) instead of random; second, how the scale of random weights shapes the "
        "activations layer by layer, for sigmoid, ReLU and tanh; third, how fast networks started from "
        "each scale learn to classify MNIST digits."
    )
    sec.p(
        "Names: `std=1` and `std=0.01` are normal weights with that standard deviation. The book's "
        "“Xavier” is `lecun_normal`, std `1/sqrt(fan_in)`; He is `he_normal`, std `sqrt(2/fan_in)`; "
        "Glorot's own rule, `xavier_normal`, uses `sqrt(2/(fan_in + fan_out))`. Every sentence below is "
        "computed from this run's measurements, which `results.json` holds beside this report."
    )
    return sec


def _symmetry(f: dict[str, Any], figs: set[str]) -> Section:
    sec = Section("symmetry", "Zero, constant and random weights")
    s = f["symmetry"]
    if s is None:
        return _not_run(sec, "this part")
    setup = f["setup"]
    sec.p(
        f"A ReLU network with {s['hidden_layers']} hidden layers of {s['width']} units is trained on MNIST "
        "for "
        f"{s['iterations']} iterations (SGD, learning rate {fmt(setup['lr'])}, batch "
        f"{setup['batch_size']}), once "
        "per initial weights, all on the same batches. A unit is *distinct* when its incoming weights and "
        "bias "
        "differ from every other unit's in its layer; if all units of a layer are equal, they compute the "
        "same "
        "function and receive the same gradient, so they stay equal."
    )
    if s["partial"]:
        sec.note(f"Interrupted: these numbers cover the first {s['iterations']} iterations only.")
    sec.p(s["summary"])
    sec.items([c["statement"] for c in s["cases"]])
    rows = [
        [
            code(c["label"]),
            " / ".join(fmt(v) for v in c.get("distinct_units") or []) or "—",
            fmt(c["diverged_at"]) if c["diverged_at"] is not None else "no",
            fmt(c.get("final_loss"), 3),
            _pct(c.get("test_accuracy_pct")),
        ]
        for c in s["cases"]
    ]
    sec.table(
        f"Per case: distinct units per hidden layer (of {s['width']}) at the last logged step before any "
        f"divergence; final training loss (mean of the last {s['loss_window']} iterations; label entropy "
        f"{fmt(s['label_entropy'], 3)}); test accuracy.",
        ["init", "distinct units per layer", "diverged at", "final loss", "test accuracy"],
        rows,
        [False, True, True, True, True],
    )
    stuck = [c["label"] for c in s["cases"] if c.get("distinct_max") == 1]
    alive = [c["label"] for c in s["cases"] if c.get("distinct_min") == s["width"]]
    if "symmetry_units" in figs:
        look = []
        if stuck:
            look.append(f"the flat line at 1: under {names(stuck)} every unit of a layer stays identical")
        if alive:
            look.append(f"the line at the top: under {names(alive)} all {s['width']} units stay distinct")
        sec.figure(
            "symmetry_units",
            "Distinct units per hidden layer during training (log scale), one panel per layer. Look at "
            + ("; and ".join(look) if look else "how many units stay distinct")
            + ".",
            "Line charts, one per hidden layer, of the number of distinct units against the training "
            "iteration, "
            "one line per initial weight setting of the table above.",
        )
    if "symmetry_training" in figs:
        sec.figure(
            "symmetry_training",
            "Training loss (left) and test accuracy (right). Look at the grey dashed line, the label "
            "entropy "
            f"({fmt(s['label_entropy'], 3)}): a network that cannot tell its inputs apart sits on it.",
            "Two line charts: training loss and test accuracy against the training iteration, one line per "
            "initial "
            "weight setting, with the label entropy as a dashed reference line.",
        )
    return sec


def _histograms(f: dict[str, Any], figs: set[str]) -> Section:
    sec = Section("histograms", "Activation histograms, layer by layer")
    h = f["histograms"]
    if h is None:
        return _not_run(sec, "this part")
    c = f["criteria"]
    sec.p(
        f"The classic experiment: {h['samples']} standard-normal inputs go through {h['layers']} layers of "
        f"{h['width']} units (no bias), and we look at the distribution of each layer's outputs"
        + (f", averaged over {h['seeds']} weight seeds." if h["seeds"] > 1 else ".")
        + " A good init keeps the outputs spread out at a similar scale in every layer: the gradient a layer "
        "receives depends on it."
    )
    sec.p(
        f"**How this run judges an init.** It passes when (a) the largest per-layer std of the outputs is at "
        f"most {fmt(c['std_ratio_limit'])} times the smallest; (b) no layer has more than "
        f"{fmt(c['saturated_limit_pct'])}% of its outputs saturated (sigmoid and tanh: within one percent of "
        "the output range from a bound); (c) the last layer's std is at least "
        f"{fmt(c['collapse_fraction'])} times "
        "the activation's own std for standard-normal input (otherwise the layer has collapsed to nearly one "
        f"value); (d) no layer has more than {fmt(c['dead_limit_pct'])}% dead units and nothing overflowed. "
        "Among the inits that pass, the most even (smallest ratio) is recommended."
    )
    sec.p(
        "The tables also give the mean-field theory's `chi_1` for each init (Poole et al.; Schoenholz et "
        "al.; "
        "see the references): the factor by which the gradient's variance changes per layer, backwards, in a "
        "deep network of this kind. Below 1 gradients vanish with depth, above 1 they explode; 1 is the edge "
        "of chaos."
    )
    layers = f["setup"]["layer_numbers"][: h["layers"]]
    for act, a in h["activations"].items():
        sec.h3(act)
        stem = f"histograms_{act}"
        if stem in figs:
            rec = a["recommended"]
            sec.figure(
                stem,
                f"{act}: one row per init, one histogram per layer (share of the outputs per bin). Look "
                "for piles at "
                "the ends of the range (saturation), a single narrow spike (collapse) and whether a row "
                "keeps its "
                "shape from layer to layer" + (f", as {code(rec)}'s does." if rec else "."),
                f"Grid of histograms of the {act} outputs: one row per init, in the order of the table "
                "below, "
                "one column per layer.",
            )
        sec.items(a["descriptions"])
        sec.p(a["statement"])
        bounded = any(s["saturated_pct_max"] is not None for s in a["schemes"])
        header = ["init", *[f"layer {n}" for n in layers], "max / min"]
        header += ["saturated"] if bounded else []
        header += ["gradient max / min", "`chi_1`", "passes"]
        rows = []
        for s in a["schemes"]:
            row = [code(s["label"]), *[fmt(v) for v in s["std_per_layer"]], fmt(s["std_ratio"])]
            row += [_pct(s["saturated_pct_max"])] if bounded else []
            row += [fmt(s["grad_std_ratio"]), fmt(s["chi_1"]), "yes" if s["passes"] else "no"]
            rows.append(row)
        sec.table(
            f"{act}: std of each layer's outputs (layer 1 to {layers[-1]}), the ratio of the largest to "
            "the smallest, "
            + ("the largest saturated share of any layer, " if bounded else "")
            + "the same ratio for the gradient std w.r.t. the pre-activations, and the mean-field `chi_1` "
            f"(the activation's own std for standard-normal input is {fmt(a['reference_std'])}).",
            header,
            rows,
            [False, *[True] * (len(header) - 2), False],
        )
    if "std_per_layer" in figs:
        sec.h3("All activations at a glance")
        sec.figure(
            "std_per_layer",
            "Std of the outputs (top) and of the gradient w.r.t. the pre-activations (bottom) per layer, "
            "log scale. "
            "A flat line keeps the signal's scale; the grey zone marks collapse, the dotted line the "
            "activation's "
            "own std for standard-normal input.",
            "Six line charts on log scales: for sigmoid, ReLU and tanh, the std of the activations and of "
            "the "
            "gradients per layer, one line per init.",
        )
    g = f["glorot"]
    if g is not None:
        sec.h3("The book's “Xavier” and Glorot's rule")
        sec.p(g["statement"])
        sec.table(
            f"Std of the activations in layer 1 and layer {g['layers']} with a {g['input_dim']}-wide input.",
            ["activation", "Xavier, layer 1", "Glorot, layer 1", "ratio", f"ratio in layer {g['layers']}"],
            [
                [
                    act,
                    fmt(v["xavier_std"][0]),
                    fmt(v["glorot_std"][0]),
                    fmt(v["ratio_layer1"]),
                    fmt(v["ratio_last"]),
                ]
                for act, v in g["activations"].items()
            ],
            [False, True, True, True, True],
        )
        if "glorot_vs_xavier" in figs:
            sec.figure(
                "glorot_vs_xavier",
                "Std per layer under the book's Xavier (solid) and Glorot (dashed) with a "
                f"{g['input_dim']}-wide "
                "input. Look at layer 1, where the two differ, and at how much of the gap survives to the "
                "last "
                "layer.",
                "Three line charts (sigmoid, ReLU, tanh) of the activation std per layer, Xavier solid and "
                "Glorot "
                "dashed.",
            )
    return sec


def _mnist(f: dict[str, Any], figs: set[str]) -> Section:
    sec = Section("mnist", "Training on MNIST")
    m = f["mnist"]
    if m is None:
        return _not_run(sec, "this part")
    widths = " → ".join(fmt(w) for w in m["widths"])
    sec.p(
        f"The network {widths} ({m['activation']}, biases zero) is trained from each init with SGD "
        f"(learning rate {fmt(m['lr'])}, batch {m['batch_size']}) for {m['iterations']} iterations, "
        f"{m['seeds']} seed{'s' if m['seeds'] > 1 else ''} per init; every model sees the same batches. "
        "Speed is "
        f"measured as the first iteration at which the mean training loss of the last {m['window']} "
        f"iterations is at most {fmt(LOSS_TARGET)}."
    )
    if m["partial"]:
        sec.note(f"Interrupted: these numbers cover the first {m['iterations']} iterations only.")
    sec.items(m["statements"])
    rows = []
    for s in m["schemes"]:
        if s["reached"] == s["seeds"]:
            it = fmt(s["iterations_to_target_mean"])
            if s["seeds"] > 1:
                it += f" ({fmt(s['iterations_to_target_min'])} to {fmt(s['iterations_to_target_max'])})"
        elif s["reached"]:
            it = f"{s['reached']} of {s['seeds']} seeds"
        else:
            it = f"not within {m['iterations']}"
        rows.append(
            [
                code(s["label"]),
                it,
                fmt(s["final_loss"], 3),
                f"{_pct(s['accuracy_pct'], 2)} ± {fmt(s['accuracy_spread_pct'], 2)}",
                f"{_pct(s['accuracy_min_pct'], 2)} to {_pct(s['accuracy_max_pct'], 2)}",
                f"{s['diverged']} of {s['seeds']}",
            ]
        )
    sec.table(
        f"Per init, over {m['seeds']} seed{'s' if m['seeds'] > 1 else ''}: iterations to a training loss of "
        f"{fmt(LOSS_TARGET)} (mean, and range over seeds), final training loss (mean of the last "
        f"{m['window']} "
        f"iterations), test accuracy on {m['eval_examples']} images (mean ± standard deviation; range).",
        [
            "init",
            f"iterations to loss {fmt(LOSS_TARGET)}",
            "final loss",
            "test accuracy",
            "range",
            "diverged",
        ],
        rows,
        [False, True, True, True, True, True],
    )
    if "mnist_compare" in figs:
        fastest = m["fastest"]
        sec.figure(
            "mnist_compare",
            "Training loss (moving average, left) and test accuracy (right); lines are the mean over "
            "seeds, bands "
            f"span the seeds. Look at where each curve crosses {fmt(LOSS_TARGET)}"
            + (f": {code(fastest)} gets there first." if fastest else "."),
            "Two line charts: smoothed training loss and test accuracy against the iteration, one line "
            "with a band "
            "per init.",
        )
    return sec


def _conclusion(f: dict[str, Any]) -> Section:
    sec = Section("conclusion", "Conclusion")
    if f["symmetry"] is not None:
        sec.p("**Equal weights.** " + f["symmetry"]["summary"])
    recs = f["recommendations"]
    if not recs:
        return _not_run(sec, "the histograms")
    sec.p(
        "**The scale of random weights.** For each activation, the init this run recommends by the "
        "criterion of "
        "the histogram section (the most even std among the inits that pass), with the MNIST evidence "
        "where it "
        "applies:"
    )
    has_mnist = any(r["mnist_fastest"] is not None or r["mnist_most_accurate"] is not None for r in recs)
    header = ["activation", "this run recommends", "std max / min", "passed", "classic study", "agrees"]
    header += ["on MNIST: first to loss " + fmt(LOSS_TARGET), "most accurate"] if has_mnist else []
    rows = []
    for r in recs:
        row = [
            r["activation"],
            code(r["recommended"]) if r["recommended"] else "none passed",
            fmt(r["std_ratio"]),
            ", ".join(code(x) for x in r["passed"]) or "none",
            code(r["classic"]) if r["classic"] else "—",
            "yes" if r["agrees_with_classic"] else "no",
        ]
        if has_mnist:
            row += [
                f"{code(r['mnist_fastest'])} ({fmt(r['mnist_fastest_iterations'])} iterations)"
                if r["mnist_fastest"]
                else "—",
                f"{code(r['mnist_most_accurate'])} ({_pct(r['mnist_accuracy_pct'], 2)})"
                if r["mnist_most_accurate"]
                else "—",
            ]
        rows.append(row)
    sec.table(
        "Recommendation per activation, derived from this run's measurements.",
        header,
        rows,
        [False, False, True, False, False, False] + [False, False] * has_mnist,
    )
    sec.items([r["statement"] for r in recs])
    if f["mnist"] is not None:
        sec.p("**Training.** " + " ".join(f["mnist"]["statements"][:2]))
    if f["departures"]:
        sec.p("**Where this run departs from the classic study.** " + " ".join(f["departures"]))
    elif f["agrees_with_classic"]:
        sec.p("On every point checked, this run agrees with the classic study.")
    return sec


def _setup(doc: dict[str, Any], f: dict[str, Any]) -> Section:
    sec = Section("setup", "Setup")
    env, secs = doc["environment"], f["setup"]["seconds"]
    parts = [("data", "loading MNIST"), ("symmetry", "zero vs constant vs random"), ("probe", "histograms"),
             ("glorot", "Xavier vs Glorot"), ("compare", "MNIST comparison")]  # fmt: skip
    rows = [
        ["initlab", code(str(env.get("initlab")))],
        ["Python", code(str(env.get("python")))],
        ["PyTorch", code(str(env.get("torch")))],
        ["NumPy", code(str(env.get("numpy")))],
        ["platform", code(str(env.get("platform")))],
        ["CPU", code(str(env.get("cpu")))],
        ["logical CPUs", fmt(f["setup"]["cpu_count"])],
        ["torch threads", fmt(f["setup"]["torch_threads"])],
        ["system load at the start (one-minute average)", fmt(f["setup"]["load_average"], 1)],
        ["seed", fmt(f["setup"]["seed"])],
        ["mode", "quick (smoke test: few iterations and seeds)" if f["quick"] else "full"],
    ]
    parts += [("total", "all measurements"), ("figures", "figures"), ("overall", "total")]
    rows += [[f"wall time: {what}", f"{fmt(secs[k], 1)} s"] for k, what in parts if secs.get(k) is not None]
    sec.table(
        "Versions, hardware and wall time of this run. A system load above the number of logical CPUs means "
        "other work shared the machine and slowed this run down.",
        ["", "value"],
        rows,
        [False, False],
    )
    command = f"initlab reproduce --seed {doc['config']['seed']}" + (" --quick" if f["quick"] else "")
    sec.p(
        f"Run again with `{command}`. With the same seed and the same number of threads the numbers are the "
        "same on the CPU."
    )
    return sec


#: Bibliographic, not measured: the last section, left out of the check that every number is measured.
REFERENCES = (
    "Glorot, X. and Bengio, Y. (2010). Understanding the difficulty of training deep feedforward neural "
    "networks. AISTATS.",
    "He, K., Zhang, X., Ren, S. and Sun, J. (2015). Delving deep into rectifiers: surpassing human-level "
    "performance on ImageNet classification. ICCV.",
    "LeCun, Y., Bottou, L., Orr, G. and Müller, K.-R. (1998). Efficient BackProp. In Neural Networks: Tricks "
    "of the Trade.",
    "Poole, B., Lahiri, S., Raghu, M., Sohl-Dickstein, J. and Ganguli, S. (2016). Exponential expressivity "
    "in "
    "deep neural networks through transient chaos. NeurIPS.",
    "Schoenholz, S., Gilmer, J., Ganguli, S. and Sohl-Dickstein, J. (2017). Deep information propagation. "
    "ICLR.",
)


def _references() -> Section:
    sec = Section("references", "References")
    sec.items(list(REFERENCES))
    return sec


def sections(doc: dict[str, Any], findings: dict[str, Any], figures: set[str]) -> list[Section]:
    """The report's sections, in the study's order; the references last."""
    return [
        _answer(findings),
        _question(findings),
        _symmetry(findings, figures),
        _histograms(findings, figures),
        _mnist(findings, figures),
        _conclusion(findings),
        _setup(doc, findings),
        _references(),
    ]


# -- rendering --------------------------------------------------------------------------------------

_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_EM = re.compile(r"(?<![\w*])\*([^*]+)\*(?![\w*])")


def inline_html(text: str) -> str:
    """Escape ``text`` and turn ```code```, ``**bold**`` and ``*emphasis*`` into HTML.

    >>> inline_html("`std=0.01` <b> **ok** *x*")
    '<code>std=0.01</code> &lt;b&gt; <strong>ok</strong> <em>x</em>'
    """
    pieces = _CODE.split(text)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2:
            out.append(f"<code>{html.escape(piece)}</code>")
        else:
            esc = html.escape(piece, quote=False)
            esc = _BOLD.sub(r"<strong>\1</strong>", esc)
            out.append(_EM.sub(r"<em>\1</em>", esc))
    return "".join(out)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG (from its IHDR chunk)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _env(autoescape: bool) -> Any:
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("initlab.report", "templates"),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["inline"] = lambda s: Markup(inline_html(str(s)))
    env.filters["md_cell"] = _md_cell
    return env


def _title(findings: dict[str, Any]) -> str:
    return "Weight initialization, measured: the classic study reproduced" + (
        " (quick run)" if findings["quick"] else ""
    )


def render_markdown(doc: dict[str, Any], figures: set[str]) -> tuple[str, dict[str, Any]]:
    """``report.md`` (figures as ``<stem>.png`` beside it) and the findings it was built from."""
    findings = derive(doc)
    text: str = (
        _env(False)
        .get_template("report.md.j2")
        .render(
            title=_title(findings), partial=findings["partial"], sections=sections(doc, findings, figures)
        )
    )
    return text, findings


def render_html(doc: dict[str, Any], figure_dir: str | Path) -> str:
    """``report.html``: one self-contained file, figures inline."""
    findings = derive(doc)
    images = {}
    for stem in FIGURES:
        path = Path(figure_dir) / f"{stem}.png"
        if path.is_file():
            data = path.read_bytes()
            w, h = png_size(data)
            images[stem] = {
                "src": "data:image/png;base64," + base64.b64encode(data).decode("ascii"),
                "w": w,
                "h": h,
            }
    out: str = (
        _env(True)
        .get_template("report.html.j2")
        .render(
            title=_title(findings),
            partial=findings["partial"],
            sections=sections(doc, findings, set(images)),
            images=images,
        )
    )
    return out


def build(doc: dict[str, Any], figure_dir: str | Path) -> Report:
    """Both renderings from ``doc`` and the PNGs in ``figure_dir`` (missing figures are left out)."""
    present = {stem for stem in FIGURES if (Path(figure_dir) / f"{stem}.png").is_file()}
    markdown, findings = render_markdown(doc, present)
    return Report(html=render_html(doc, figure_dir), markdown=markdown, findings=findings)
