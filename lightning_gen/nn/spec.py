"""Self-describing networks: every network records the arguments it was built with.

A checkpoint stores ``network_spec(module)`` next to the weights, so the network can be rebuilt from the
checkpoint alone (ARCHITECTURE principle 5). Networks of this package subclass :class:`Network`; a user's
own ``nn.Module`` works too, but must then be passed again when loading (the error says so).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Any

from torch import nn

__all__ = ["Network", "build_network", "network_spec", "resolve_class_path"]

_PLAIN = (int, float, str, bool, type(None))


def _plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


class Network(nn.Module):
    """Base class of the package's networks: records its constructor arguments in ``init_args``."""

    init_args: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" not in cls.__dict__:
            return
        original = cls.__init__
        signature = inspect.signature(original)

        @functools.wraps(original)
        def __init__(self: Network, *args: Any, **kw: Any) -> None:
            outermost = not getattr(self, "_recording", False)
            if outermost:
                object.__setattr__(self, "_recording", True)
            try:
                original(self, *args, **kw)
            finally:
                if outermost:
                    bound = signature.bind(self, *args, **kw)
                    bound.apply_defaults()
                    recorded = {k: v for k, v in list(bound.arguments.items())[1:]}
                    object.__setattr__(self, "init_args", recorded)
                    object.__setattr__(self, "_recording", False)

        cls.__init__ = __init__  # type: ignore[method-assign]


def network_spec(module: nn.Module) -> dict[str, Any]:
    """``{"class_path": ..., "init_args": {...} | None}`` for ``module``.

    ``init_args`` is None when the arguments are unknown (a user's plain ``nn.Module``) or not plain
    Python values (the network took another module as an argument).
    """
    cls = type(module)
    init_args = getattr(module, "init_args", None)
    if init_args is not None and not _plain(init_args):
        init_args = None
    return {"class_path": f"{cls.__module__}.{cls.__qualname__}", "init_args": init_args}


def resolve_class_path(class_path: str) -> Any:
    """The object named by a dotted path such as ``"lightning_gen.nn.dcgan.DCGANGenerator"``.

    Raises:
        ImportError, AttributeError, ValueError: the path does not resolve (callers turn these into errors
            that say what to do).
    """
    module_name, _, qualname = class_path.rpartition(".")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def build_network(spec: dict[str, Any], name: str = "network") -> nn.Module:
    """Rebuild a network from :func:`network_spec`'s output.

    Raises:
        ValueError: the class cannot be imported, or its arguments were not recorded; the message says to
            pass the network to ``load_from_checkpoint`` instead.
    """
    class_path = spec.get("class_path", "?")
    hint = f"pass {name}=<your module> to load_from_checkpoint(...) to rebuild it yourself."
    try:
        obj = resolve_class_path(class_path)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(f"The checkpoint's {name} is {class_path}, which cannot be imported ({err}); {hint}") from err
    init_args = spec.get("init_args")
    if init_args is None:
        try:
            return obj()
        except TypeError as err:
            raise ValueError(
                f"The checkpoint's {name} is {class_path}, whose constructor arguments were not recorded; {hint}"
            ) from err
    return obj(**init_args)
