"""Conv nets as one ensemble: vmap's grouped convolutions against the plain loop over the models.
(Never run as a test.)

An :class:`initlab.ensemble.Ensemble` of ``M`` ``cnn(depth=6, channels=32)`` models runs one
``vmap(functional_call)``: every conv after the first becomes one convolution with ``groups = M``
(the first, on the shared input, one convolution with ``M x 32`` output channels). The baseline is
the plain loop: the same ``M`` models as ordinary modules, one forward and backward each. Both do a
forward and backward pass on the same MNIST batch (cross-entropy, ``B = 128``), interleaved,
single-threaded by default (``benchmarks/ensemble_strategy.py`` compares every strategy, with the
optimizer step); the script prints the median time per step of each, the ratio
loop / ensemble (above 1: the ensemble is faster per model) and checks that both give the same
losses and gradients (float32, within 1e-4 relative).

    python benchmarks/conv_vmap.py [--models 8] [--batch 128] [--repeats 15] [--threads 1]
        [--model "cnn(depth=6, channels=32)"] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from initlab import load_dataset
from initlab.core.device import resolve_device
from initlab.ensemble import Ensemble, model_factory


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="cnn(depth=6, channels=32)")
    ap.add_argument("--models", type=int, default=8)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)

    data = load_dataset("mnist")
    x = data.train_x[: args.batch].to(device)  # (B, 784)
    y = data.train_y[: args.batch].to(device)  # (B,)
    M = args.models
    make = model_factory(args.model)
    ens = Ensemble.from_factory(make, ["he_normal"] * M, list(range(M)), device=device, strategy="vmap")
    loop = [ens.model(m).to(device) for m in range(M)]

    def ens_step() -> torch.Tensor:
        for p in ens.parameters():
            p.grad = None
        logits = ens(x)  # (M, B, C)
        losses = F.cross_entropy(logits.flatten(0, 1), y.repeat(M), reduction="none").view(M, -1).mean(1)
        losses.sum().backward()  # (M,): each model's gradient is its own loss's
        return losses.detach()

    def loop_step() -> torch.Tensor:
        out = []
        for model in loop:
            model.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            out.append(loss.detach())
        return torch.stack(out)  # (M,)

    l_ens, l_loop = ens_step(), loop_step()
    torch.testing.assert_close(l_ens, l_loop, rtol=1e-4, atol=1e-5)
    for name, p in ens.named_parameters():
        ref = torch.stack([dict(m.named_parameters())[name].grad for m in loop])  # type: ignore[misc]
        torch.testing.assert_close(p.grad, ref, rtol=1e-3, atol=1e-5)

    def timed(step: Callable[[], torch.Tensor]) -> float:
        _sync(device)
        t0 = time.perf_counter()
        step()
        _sync(device)
        return time.perf_counter() - t0

    times: dict[str, list[float]] = {"ensemble": [], "loop": []}
    for _ in range(args.repeats):  # interleaved, so load on a shared machine hits both alike
        times["ensemble"].append(timed(ens_step))
        times["loop"].append(timed(loop_step))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"{args.model}, M={M}, batch {args.batch}, {args.threads} thread(s), {device}, "
        f"forward+backward, median of {args.repeats}"
    )
    for k in ("ensemble", "loop"):
        print(f"  {k:8s}  {med[k] * 1e3:9.1f} ms/step  {med[k] / M * 1e3:8.2f} ms/model")
    print(f"  loop / ensemble = {med['loop'] / med['ensemble']:.2f}x  (target >= 1.5x lower time per model)")


if __name__ == "__main__":
    main()
