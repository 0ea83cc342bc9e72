"""``initlab depth`` on a residual family whose depths are not every integer: ``resnet(depth={depth})``
takes only 6n+2, and the run (its mean-field depth scale, which applies to mlp only) must not build
the model at any depth the user did not give."""

from __future__ import annotations

from initlab.studies import DepthConfig
from initlab.studies.depth import run as depth_run


def test_a_resnet_template_runs_at_its_own_depths() -> None:
    cfg = DepthConfig(
        model="resnet(depth={depth}, width=2, norm=none)",
        depths=(8,),
        inits=("he_normal", "fixup"),
        seeds=1,
        iterations=1,
        batch_size=8,
        eval_size=16,
        probe_samples=4,
    )
    res = depth_run(cfg)
    assert [(r.depth, r.label) for r in res.rows] == [(8, "he_normal"), (8, "fixup")]
    assert res.to_dict()["config"]["model"] == "resnet(depth={depth}, width=2, norm=none)"
