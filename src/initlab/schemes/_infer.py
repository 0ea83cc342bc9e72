"""Residual marks inferred from structure: the residual branches of common third-party models.

A model without residual marks (no module carries any ``initlab_*`` mark attribute, ``True`` or
``False``: :mod:`initlab.schemes._marks`) -- a torchvision ResNet, a timm ViT, a Hugging Face
transformer -- is searched for blocks recognised by **structure**: a class-name family, the names of
the children, and shapes. The marks they imply are read by :func:`initlab.schemes.branches` (hence
``zero_residual``, ``fixup``, ``depth_scaled``, ``auto`` and the audit) and never written onto the
model; explicit marks always win, and setting ``model.initlab_residual = False`` on the root turns
the inference off. Two rules:

* **ResNet block** (torchvision's and timm's ``BasicBlock`` / ``Bottleneck``, initlab's own): a module
  whose class name contains ``Block`` or ``Bottleneck``, with convolutions ``conv1 .. convK`` (K = 2,
  basic; K = 3, bottleneck) and a residual shape -- ``conv1``'s input channels equal ``convK``'s
  output channels, or a ``downsample`` / ``shortcut`` child carries the skip. ``convK`` ends the
  branch; ``bnK`` (or ``normK``) registered after it with a gain of ``convK``'s width is the branch's
  last norm: the one torchvision's ``zero_init_residual`` zeroes (``bn2`` / ``bn3``). A pre-activation
  block (``normK`` before ``convK``) has none.
* **Transformer block** (Hugging Face GPT-2, BERT/RoBERTa, T5, Llama/Mistral, ViT; timm's ViT
  ``Block``; PyTorch's ``nn.TransformerEncoderLayer``; nanoGPT): a submodule -- not a container, not
  itself an attention module -- whose weighted layers (Linear, ConvNd, Hugging Face's ``Conv1D``), in
  registration order, are those of one or more attention modules (``nn.MultiheadAttention`` or a
  class whose name contains ``Attention`` or ends in ``Attn``) followed by at least one layer outside
  them (the MLP), where each attention's last layer (its output projection: GPT-2's ``attn.c_proj``,
  T5's ``o``, Llama's ``o_proj``, BERT's ``attention.output.dense``, timm's ``attn.proj``) and the
  block's last layer (the MLP's output: ``mlp.c_proj``, ``wo``, ``down_proj``, ``output.dense``,
  ``mlp.fc2``) all write the same width, the residual stream's. The innermost such module is the
  block; those layers end its branches. **Post-LN** -- a norm applied to ``x + f(x)`` -- is said
  where the structure shows it: each branch output sits alone with a norm in its own module (BERT's
  ``BertSelfOutput`` / ``BertOutput``: ``LayerNorm(dense(h) + x)``), or ``norm_first=False`` on
  PyTorch's layers. In a post-LN block a zero branch makes the layer ``LN(x + b)``: the identity on a
  stream that is already normalised (zero mean, unit variance per token, gain 1, bias 0).

Anything else keeps no mark, and the tools behave as on an unmarked model.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
_RESNET_CLASS = re.compile(r"block|bottleneck", re.IGNORECASE)


def is_conv1d(mod: nn.Module) -> bool:
    """Hugging Face's ``Conv1D``, by structure: a leaf with 2-D ``weight`` ``(in, out)`` and ``nf == out``."""
    w = getattr(mod, "weight", None)
    nf = getattr(mod, "nf", None)
    if not isinstance(w, Tensor) or w.dim() != 2 or not isinstance(nf, int) or w.shape[1] != nf:
        return False
    if isinstance(mod, nn.Linear | nn.modules.conv._ConvNd) or next(mod.children(), None) is not None:
        return False
    b = getattr(mod, "bias", None)
    return b is None or (isinstance(b, Tensor) and tuple(b.shape) == (nf,))


def is_weighted(mod: nn.Module) -> bool:
    """A layer whose ``weight`` maps a width to a width: Linear, ConvNd, Hugging Face's ``Conv1D``."""
    return isinstance(mod, nn.Linear | nn.modules.conv._ConvNd) or is_conv1d(mod)


def out_width(mod: nn.Module) -> int:
    """The width a weighted layer writes: Linear ``out_features``, ConvNd ``out_channels``, Conv1D ``nf``."""
    if is_conv1d(mod):
        return int(getattr(mod, "nf"))  # noqa: B009 - checked by is_conv1d
    w = getattr(mod, "weight")  # noqa: B009 - a weighted layer
    assert isinstance(w, Tensor)
    if isinstance(mod, nn.modules.conv._ConvTransposeNd):
        return int(w.shape[1]) * int(mod.groups)
    return int(w.shape[0])


@dataclass(frozen=True)
class Recognised:
    """One block recognised by structure (module doc): what it is and the marks it implies.

    ``block`` is its ``named_modules`` name, ``cls`` its class (``module.QualName``), ``kind`` the rule
    that matched, ``outputs`` the layers that end its branches (in order), ``norm`` the branch's last
    norm (ResNet blocks with one), ``post_norm`` whether a norm follows each add (post-LN).
    """

    block: str
    kind: Literal["resnet", "transformer"]
    cls: str
    outputs: tuple[str, ...]
    norm: str | None = None
    post_norm: bool = False

    @property
    def what(self) -> str:
        """How the block was read, without its name (``"ResNet bottleneck: conv3 ends the branch, ..."``)."""
        rel = [o.removeprefix(self.block + ".") for o in self.outputs]
        if self.kind == "resnet":
            kind = "bottleneck" if rel[0].endswith("3") else "basic block"
            norm = f", {self.norm.removeprefix(self.block + '.')} its last norm" if self.norm else ""
            return f"ResNet {kind}: {rel[0]} ends the branch{norm}"
        post = "post-LN " if self.post_norm else ""
        return f"{post}transformer block: {', '.join(rel)} end its branches"


def infer_marks(model: nn.Module) -> list[Recognised]:
    """The blocks of ``model`` recognised by structure (module doc), in ``named_modules`` order.

    Runs the rules whatever marks the model carries; :func:`initlab.schemes.branches` uses them only
    when it has none.

    >>> from torch import nn
    >>> layers = [nn.TransformerEncoderLayer(8, 2, 16, batch_first=True) for _ in range(2)]
    >>> [r.outputs for r in infer_marks(nn.Sequential(*layers))][1]
    ('1.self_attn.out_proj', '1.linear2')
    """
    mods = dict(model.named_modules())
    names = list(mods)  # pre-order: a module's descendants follow it, contiguously
    weighted = [i for i, n in enumerate(names) if is_weighted(mods[n])]
    attention = {n for n, m in mods.items() if _is_attention(m)}
    found: dict[str, Recognised] = {}
    for i, (name, mod) in enumerate(mods.items()):
        if not name or isinstance(mod, _CONTAINERS) or is_weighted(mod) or _is_attention(mod):
            continue
        end = i + 1
        while end < len(names) and names[end].startswith(name + "."):
            end += 1
        layers = [
            names[j] for j in weighted[bisect.bisect_right(weighted, i) : bisect.bisect_left(weighted, end)]
        ]
        rec = _resnet(name, mod) or _transformer(name, mod, mods, layers, attention)
        if rec is not None:
            found[name] = rec
    innermost = [r for r in found.values() if not any(o.startswith(r.block + ".") for o in found)]
    return innermost


def _cls(mod: nn.Module) -> str:
    return f"{type(mod).__module__}.{type(mod).__qualname__}"


def _is_attention(mod: nn.Module) -> bool:
    name = type(mod).__name__.lower()
    return isinstance(mod, nn.MultiheadAttention) or "attention" in name or name.endswith("attn")


def _resnet(name: str, mod: nn.Module) -> Recognised | None:
    if not _RESNET_CLASS.search(type(mod).__name__):
        return None
    children = dict(mod.named_children())
    convs: list[nn.modules.conv._ConvNd] = []
    while isinstance(c := children.get(f"conv{len(convs) + 1}"), nn.modules.conv._ConvNd):
        convs.append(c)
    k = len(convs)
    if k not in (2, 3) or isinstance(convs[-1], nn.modules.conv._ConvTransposeNd):
        return None
    first, last = convs[0], convs[-1]
    if first.in_channels != last.out_channels and not {"downsample", "shortcut"} & children.keys():
        return None
    order = list(children)
    norm = None
    for prefix in ("bn", "norm"):
        key = f"{prefix}{k}"
        gain = getattr(children.get(key), "weight", None)
        if (
            isinstance(gain, Tensor)
            and gain.dim() == 1
            and gain.numel() == last.out_channels
            and order.index(key) > order.index(f"conv{k}")
        ):
            norm = f"{name}.{key}"
            break
    return Recognised(name, "resnet", _cls(mod), (f"{name}.conv{k}",), norm)


def _owner(layer: str, block: str, attention: set[str]) -> str | None:
    """The outermost attention module holding ``layer`` inside ``block`` (``None`` if none)."""
    parts = layer.split(".")
    for k in range(block.count(".") + 2, len(parts)):
        prefix = ".".join(parts[:k])
        if prefix in attention:
            return prefix
    return None


def _transformer(
    name: str, mod: nn.Module, mods: dict[str, nn.Module], layers: list[str], attention: set[str]
) -> Recognised | None:
    """``layers``: the weighted layers inside ``mod``, in ``named_modules`` order."""
    if len(layers) < 2:
        return None
    owners = [_owner(w, name, attention) for w in layers]
    if owners[0] is None or owners[-1] is not None:
        return None
    first_free = owners.index(None)
    if any(o is not None for o in owners[first_free:]):
        return None  # attention, MLP, attention...: a stack, not one block
    groups = list(dict.fromkeys(o for o in owners[:first_free] if o is not None))
    outputs = [max(i for i, o in enumerate(owners) if o == g) for g in groups] + [len(layers) - 1]
    names = tuple(layers[i] for i in outputs)
    if len({out_width(mods[n]) for n in names}) != 1:
        return None
    return Recognised(name, "transformer", _cls(mod), names, None, _post_norm(name, mod, mods, layers, names))


def _post_norm(
    name: str, mod: nn.Module, mods: dict[str, nn.Module], weighted: list[str], outputs: tuple[str, ...]
) -> bool:
    """A norm applied to ``x + f(x)``: PyTorch's ``norm_first=False``, or each output alone with a norm."""
    first = getattr(mod, "norm_first", None)
    if isinstance(first, bool):
        return not first
    for out in outputs:
        parent = out.rpartition(".")[0]
        if parent == name:
            return False
        own = [w for w in weighted if w.startswith(parent + ".")]
        norms = [c for c in mods[parent].children() if "norm" in type(c).__name__.lower()]
        if own != [out] or not norms:
            return False
    return True
