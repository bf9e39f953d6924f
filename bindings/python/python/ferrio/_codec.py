"""Arguments across the native boundary: JSON text plus binary attachments.

Binary values (``bytes``, ``bytearray``, ``memoryview``) at any depth are replaced by
``{"_placeholder": true, "num": K}`` with their bytes in ``attachments[K]``: the Socket.IO
wire convention, which the native layer speaks too.
"""

from __future__ import annotations

import json
from typing import Any

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_encode_plain = _encoder.encode
_decode = json.loads


def args_of(data: Any) -> list[Any]:
    """The argument list of ``data``: none for ``None``, one per item of a tuple, else one."""
    if data is None:
        return []
    if isinstance(data, tuple):
        return list(data)
    return [data]


def encode(args: list[Any]) -> tuple[str, list[bytes]]:
    """JSON text of ``args`` with binary values as placeholders, and their bytes."""
    try:
        return _encode_plain(args), []
    except TypeError:
        pass
    attachments: list[bytes] = []

    def placeholder(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            attachments.append(bytes(value))
            return {"_placeholder": True, "num": len(attachments) - 1}
        if isinstance(value, (set, frozenset)):
            return list(value)
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    text = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=placeholder).encode(
        args
    )
    return text, attachments


def decode(text: str, attachments: list[bytes] | None = None) -> list[Any]:
    """The arguments in ``text``, with ``attachments`` put back as ``bytes``."""
    if not attachments:
        result: list[Any] = _decode(text)
        return result

    def hook(obj: dict[str, Any]) -> Any:
        if obj.get("_placeholder") is True and isinstance(obj.get("num"), int):
            return attachments[obj["num"]]
        return obj

    decoded: list[Any] = json.loads(text, object_hook=hook)
    return decoded


def unpack(args: list[Any]) -> Any:
    """An ack's values as python-socketio returns them: none, one value, or a tuple."""
    if not args:
        return None
    if len(args) == 1:
        return args[0]
    return tuple(args)
