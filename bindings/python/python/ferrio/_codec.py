"""Arguments across the native boundary: JSON text plus binary attachments.

Binary values (``bytes``, ``bytearray``, ``memoryview``) at any depth are replaced by
``{"_placeholder": true, "num": K}`` with their bytes in ``attachments[K]``: the Socket.IO
wire convention, which the native layer speaks too.
"""

from __future__ import annotations

import json
from typing import Any, Callable

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_encode_plain = _encoder.encode


def _not_plain(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _c_encoder() -> Callable[[Any], str] | None:
    """CPython's C encoder, made once: ``JSONEncoder.encode`` builds one per call, which
    costs more than encoding a small event (profiled: a third of an emit)."""
    try:
        from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
    except ImportError:
        return None
    if c_make_encoder is None:
        return None
    # markers=None: no circular-reference bookkeeping (a cycle fails with RecursionError).
    chunks = c_make_encoder(None, _not_plain, encode_basestring, None, ":", ",", False, False, True)

    def encode(value: Any) -> str:
        return "".join(chunks(value, 0))

    try:
        if encode([1, "é", {"a": None, "b": 1.5}]) != '[1,"é",{"a":null,"b":1.5}]':
            return None
    except Exception:
        return None
    return encode


#: JSON text of plain JSON values; raises ``TypeError`` on anything else (e.g. bytes).
encode_plain: Callable[[Any], str] = _c_encoder() or _encode_plain
_decode = json.loads


def args_of(data: Any) -> list[Any]:
    """The argument list of ``data``: none for ``None``, one per item of a tuple, else one."""
    if data is None:
        return []
    if isinstance(data, tuple):
        return list(data)
    return [data]


def encode(args: list[Any], first: int = 0) -> tuple[str, list[bytes]]:
    """JSON text of ``args`` with binary values as placeholders numbered from ``first``
    (after the attachments of earlier emits of a batch), and their bytes."""
    try:
        return encode_plain(args), []
    except TypeError:
        return encode_binary(args, first)


def encode_binary(args: list[Any], first: int = 0) -> tuple[str, list[bytes]]:
    """:func:`encode` for arguments known not to be plain JSON (``encode_plain`` refused
    them)."""
    attachments: list[bytes] = []

    def placeholder(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            attachments.append(bytes(value))
            return {"_placeholder": True, "num": first + len(attachments) - 1}
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
