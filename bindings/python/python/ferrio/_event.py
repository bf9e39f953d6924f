"""What ``AsyncClient.events()`` yields."""

from __future__ import annotations

from typing import Any

from . import _codec
from ._errors import convert
from ._ffi import ferrio_ffi as ffi


class Event:
    """An event from the server: ``name``, ``args``, ``namespace``, and ``ack()`` when the
    server asked for an acknowledgement."""

    __slots__ = ("_ack", "args", "name", "namespace")

    def __init__(
        self, namespace: str, name: str, args: list[Any], ack: ffi.AckRequest | None
    ) -> None:
        self.namespace = namespace
        self.name = name
        self.args = args
        self._ack = ack

    @property
    def wants_ack(self) -> bool:
        """Whether the server asked for an acknowledgement."""
        return self._ack is not None

    def ack(self, *values: Any) -> None:
        """Answers the server's acknowledgement request with ``values`` (once)."""
        if self._ack is None:
            return
        text, attachments = _codec.encode(list(values))
        try:
            self._ack.send(text, attachments)
        except Exception as error:
            raise convert(error) from None

    def __iter__(self) -> Any:
        # [event, *args], as python-socketio's SimpleClient.receive() returns.
        return iter([self.name, *self.args])

    def __repr__(self) -> str:
        return f"Event(namespace={self.namespace!r}, name={self.name!r}, args={self.args!r})"
