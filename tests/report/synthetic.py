"""A hand-made reproduce results document: every number chosen, nothing trained, so a test can say
exactly what the report must conclude from it."""

from __future__ import annotations

from typing import Any

LAYERS = 5


def probe_run(
    label: str,
    stds: list[float],
    *,
    sat: float | None = None,
    dead: float = 0.0,
    grad: list[float] | None = None,
    chi_1: float | None = 1.0,
    nonfinite: int = 0,
    mean: float = 0.1,
) -> dict[str, Any]:
    grads = grad if grad is not None else [1.0] * len(stds)
    return {
        "label": label,
        "spec": {
            "std=1": "normal(std=1)",
            "std=0.01": "normal(std=0.01)",
            "Xavier": "lecun_normal",
            "He": "he_normal",
            "Glorot": "xavier_normal",
        }.get(label, label),
        "theory": {"chi_1": chi_1, "regime": "critical"},
        "layers": [
            {
                "std": s,
                "grad_std": g,
                "mean": mean,
                "saturated_fraction": sat,
                "dead_fraction": dead,
                "nonfinite": nonfinite,
            }
            for s, g in zip(stds, grads, strict=True)
        ],
    }


def probe_part(runs: list[dict[str, Any]], input_dim: int = 100) -> dict[str, Any]:
    cfg = {"layers": LAYERS, "width": 100, "samples": 1000, "seeds": 3, "input_dim": input_dim}
    return {"config": cfg, "runs": runs}


EVEN = [0.6, 0.58, 0.57, 0.57, 0.56]


def default_probes() -> dict[str, dict[str, Any]]:
    """The classic outcome: Xavier for sigmoid and tanh, He for ReLU."""
    return {
        "sigmoid": probe_part(
            [
                probe_run("std=1", [0.46, 0.44, 0.43, 0.43, 0.44], sat=0.64),
                probe_run("std=0.01", [0.025, 0.013, 0.012, 0.013, 0.012], sat=0.0),
                probe_run("Xavier", [0.21, 0.13, 0.12, 0.12, 0.12], sat=0.0),
            ]
        ),
        "relu": probe_part(
            [
                probe_run("std=0.01", [0.004, 3e-4, 2e-5, 1e-6, 1e-7], dead=0.0),
                probe_run("Xavier", [0.5, 0.35, 0.25, 0.18, 0.12]),
                probe_run("He", [0.8, 0.81, 0.79, 0.8, 0.82]),
            ]
        ),
        "tanh": probe_part(
            [
                probe_run("std=0.01", [0.01, 1e-4, 1e-6, 1e-8, 1e-10], sat=0.0),
                probe_run("Xavier", EVEN, sat=0.01),
                probe_run("He", [0.8, 0.7, 0.65, 0.6, 0.6], sat=0.30),
            ]
        ),
    }


def loss_curve(n: int, reach: int | None) -> list[float | None]:
    """Falls linearly from 2.3 to 0.5 at ``reach`` and on to 0.3 (flat at 2.3 if ``reach`` is None)."""
    if reach is None:
        return [2.3] * n
    return [
        2.3 - 1.8 * t / reach if t <= reach else max(0.5 - 0.2 * (t - reach) / (n - reach), 0.3)
        for t in range(1, n + 1)
    ]


def compare_part(reach: dict[str, int | None], acc: dict[str, list[float]], n: int = 600) -> dict[str, Any]:
    labels = list(reach)
    runs = []
    for lb in labels:
        for a in acc[lb]:
            runs.append(
                {
                    "label": lb,
                    "spec": lb.lower(),
                    "train_loss": loss_curve(n, reach[lb]),
                    "test_accuracy": a,
                    "diverged_at": None,
                }
            )
    return {
        "architecture": {"activation": "relu", "widths": [784, 100, 100, 100, 100, 10]},
        "iterations_done": n,
        "seeds": len(acc[labels[0]]),
        "train": {"lr": 0.01, "batch_size": 128},
        "smooth": 25,
        "eval_examples": 10000,
        "partial": False,
        "summary": [{"label": lb} for lb in labels],
        "runs": runs,
    }


def symmetry_facts() -> dict[str, Any]:
    def case(
        label: str,
        units: int,
        *,
        zero: bool,
        loss: float | None,
        acc: float,
        learned: bool,
        diverged: int | None = None,
    ) -> dict[str, Any]:
        return {
            "label": label,
            "spec": label,
            "diverged_at": diverged,
            "logged_at": 150,
            "distinct_units": [units] * 4,
            "distinct_min": units,
            "distinct_max": units,
            "hidden_gradients_zero": zero,
            "output_gradients_zero": zero,
            "layer1_grad_norm_max": 0.0713,
            "final_loss": loss,
            "test_accuracy_pct": acc,
            "learned": learned,
        }

    return {
        "width": 100,
        "hidden_layers": 4,
        "iterations": 150,
        "label_entropy": 2.301,
        "loss_window": 50,
        "learned_margin": 0.1,
        "partial": False,
        "cases": [
            case("zeros", 1, zero=True, loss=2.302, acc=11.3, learned=False),
            case("constant(value=0.5)", 1, zero=False, loss=2.302, acc=11.3, learned=False),
            case("uniform(a=-2, b=2)", 100, zero=False, loss=None, acc=10.1, learned=False, diverged=4),
            case("He", 100, zero=False, loss=1.387, acc=74.3, learned=True),
        ],
    }


def results(
    *,
    probes: dict[str, dict[str, Any]] | None = None,
    reach: dict[str, int | None] | None = None,
    acc: dict[str, list[float]] | None = None,
) -> dict[str, Any]:
    """A whole results document; by default the run agrees with the classic study on every point."""
    probes = probes if probes is not None else default_probes()
    reach = reach if reach is not None else {"std=0.01": None, "Xavier": 300, "He": 150}
    acc = acc if acc is not None else {"std=0.01": [0.11, 0.12], "Xavier": [0.93, 0.935], "He": [0.95, 0.955]}
    glorot = {
        a: probe_part(
            [probe_run("Xavier", [0.5, 0.4, 0.35, 0.3, 0.3]), probe_run("Glorot", [0.3, 0.3, 0.3, 0.3, 0.3])],
            input_dim=784,
        )
        for a in probes
    }
    return {
        "study": "reproduce",
        "schema": "initlab.reproduce/1",
        "partial": False,
        "quick": False,
        "completed": ["symmetry", "probe", "glorot", "compare"],
        "config": {"seed": 0, "lr": 0.01, "batch_size": 128, "layers": LAYERS},
        "environment": {
            "initlab": "0.0",
            "python": "3.12",
            "torch": "2.5",
            "numpy": "2.1",
            "platform": "test",
            "cpu": "test cpu",
            "cpu_count": 2,
            "torch_threads": 1,
            "load_average": 0.5,
        },
        "seconds": {
            "data": 0.1,
            "symmetry": 1.0,
            "probe": 1.0,
            "glorot": 0.5,
            "compare": 2.0,
            "total": 4.6,
            "figures": 1.0,
        },
        "parts": {
            "symmetry": {"facts": symmetry_facts()},
            "probe": {
                "reference_std": {"sigmoid": 0.208, "relu": 0.584, "tanh": 0.627},
                "activations": probes,
            },
            "glorot": {
                "input_dim": 784,
                "layer1_weight_std": {"Xavier": 0.1, "Glorot": 0.0845},
                "activations": glorot,
            },
            "compare": compare_part(reach, acc),
        },
    }
