"""Execution providers and device, as onnxruntime names them: onnumba has one, ``CPUExecutionProvider``.

Code written for onnxruntime passes ``providers=[...]`` and reads ``get_providers()``; it runs unchanged. A
provider onnumba does not have (``CUDAExecutionProvider`` ...) is skipped with the warning onnxruntime gives, and
the session falls back to the CPU, as onnxruntime does when a requested provider is not available.
"""

from __future__ import annotations

import warnings

from onnumba.errors import InputError

CPU = "CPUExecutionProvider"


def get_available_providers() -> list:
    """The providers onnumba can run a session on: ``['CPUExecutionProvider']``."""
    return [CPU]


def get_device() -> str:
    """The device onnumba runs on: ``'CPU'`` (onnxruntime's ``get_device()`` of a CPU build)."""
    return "CPU"


def resolve_providers(providers, provider_options=None) -> tuple:
    """onnxruntime's ``providers`` / ``provider_options`` arguments -> (provider names, {name: options}).

    Entries are names or ``(name, options dict)`` tuples. An unavailable provider is skipped with onnxruntime's
    warning, a repeated one likewise; with none left the CPU provider is used. Options given for the CPU provider
    are accepted and ignored (onnxruntime ignores keys its CPU provider does not know, and onnumba's CPU provider
    has none). Unlike onnxruntime, a bare string (which onnxruntime iterates letter by letter) or an entry that is
    neither a name nor a (name, dict) pair is refused with :class:`InputError`.
    """
    if providers is None:
        return [CPU], {CPU: {}}
    if isinstance(providers, (str, bytes)) or not isinstance(providers, (list, tuple)):
        raise InputError(f"providers must be a list of provider names or (name, options) tuples, got "
                         f"{type(providers).__name__} {providers!r}; e.g. providers=['CPUExecutionProvider']")
    if provider_options is not None and len(provider_options) != len(providers):
        raise InputError(f"provider_options has {len(provider_options)} entries but providers has "
                         f"{len(providers)}; give one options dict per provider")
    names: list = []
    for i, entry in enumerate(providers):
        if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str) and isinstance(entry[1], dict):
            name = entry[0]
        elif isinstance(entry, str):
            name = entry
        else:
            raise InputError(f"providers[{i}] must be a provider name or a (name, options dict) tuple, got "
                             f"{entry!r}")
        if provider_options is not None and not isinstance(provider_options[i], dict):
            raise InputError(f"provider_options[{i}] must be a dict, got {type(provider_options[i]).__name__}")
        if name in names:
            warnings.warn(f"Duplicate provider '{name}' encountered, ignoring.", UserWarning, stacklevel=3)
            continue
        if name not in get_available_providers():
            warnings.warn(f"Specified provider '{name}' is not in available provider names.Available providers: "
                          f"'{', '.join(get_available_providers())}'", UserWarning, stacklevel=3)
            continue
        names.append(name)
    if not names:
        names = [CPU]
    return names, {n: {} for n in names}
