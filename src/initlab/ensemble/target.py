"""A user's own model factory, ``PACKAGE.MODULE:FACTORY``: the one loader (``--model``, ``diagnose``).

:func:`load_factory` imports ``PACKAGE.MODULE`` (the current folder is importable, as with
``python -m``), follows the dotted ``FACTORY`` attribute path and returns a no-argument factory that
calls it and checks that it returned an ``nn.Module``. Every failure -- a malformed target, a module
that cannot be imported (or that raises or exits while importing), a missing attribute (with the
closest names), something not callable, a factory that raises or returns something else -- is an
:class:`InitlabError` with one line naming the target. The factory itself takes no generator:
callers that need reproducibility seed the global RNG around the call
(:meth:`initlab.ensemble.Ensemble.from_factory` forks it and seeds it per model).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from torch import nn

from ..core.errors import InitlabError, closest


def split_target(target: str) -> tuple[str, str]:
    """``"pkg.mod:make"`` -> ``("pkg.mod", "make")``; anything else is an ``InitlabError``."""
    mod_name, sep, attr = target.strip().partition(":")
    if not sep or not mod_name or not attr or ":" in attr:
        raise InitlabError(
            f"target {target!r} must look like PACKAGE.MODULE:FACTORY, e.g. initlab.examples:mlp20_relu"
        )
    return mod_name.strip(), attr.strip()


def _import(mod_name: str, target: str) -> Any:
    added = os.getcwd() not in sys.path
    if added:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(mod_name)
    except ImportError as err:
        raise InitlabError(f"cannot import module {mod_name!r} of {target!r}: {err}") from err
    except (Exception, SystemExit) as err:  # SystemExit: the module called sys.exit
        raise InitlabError(
            f"importing {mod_name!r} of {target!r} failed: {type(err).__name__}: {err}"
        ) from err
    finally:
        if added:
            sys.path.remove(os.getcwd())


def load_factory(target: str) -> Callable[[], nn.Module]:
    """Import ``PACKAGE.MODULE:FACTORY`` now; return a factory that calls it (see the module doc)."""
    mod_name, attr = split_target(target)
    target = f"{mod_name}:{attr}"
    obj: Any = _import(mod_name, target)
    for part in attr.split("."):
        if not hasattr(obj, part):
            hint = closest(part, [n for n in dir(obj) if not n.startswith("_")])
            raise InitlabError(
                f"{target!r}: {getattr(obj, '__name__', mod_name)!r} has no attribute {part!r}{hint}"
            )
        obj = getattr(obj, part)
    if not callable(obj):
        raise InitlabError(f"{target!r} is not callable (a {type(obj).__name__})")
    fn: Callable[[], Any] = obj

    def factory() -> nn.Module:
        try:
            model = fn()
        except (Exception, SystemExit) as err:  # SystemExit: the factory called sys.exit
            raise InitlabError(f"calling {target}() failed: {type(err).__name__}: {err}") from err
        if not isinstance(model, nn.Module):
            raise InitlabError(f"{target}() returned a {type(model).__name__}, not a torch.nn.Module")
        return model

    factory.__qualname__ = factory.__name__ = attr
    return factory
