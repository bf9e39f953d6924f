"""The Python side of the argument codec and the exception tree (no server)."""

from __future__ import annotations

import builtins

import pytest

import ferrio
from ferrio import _codec


def test_binary_at_any_depth_becomes_numbered_placeholders() -> None:
    text, attachments = _codec.encode([b"a", {"x": [bytearray(b"b")]}, "s"])
    assert text == ('[{"_placeholder":true,"num":0},{"x":[{"_placeholder":true,"num":1}]},"s"]')
    assert attachments == [b"a", b"b"]
    assert _codec.decode(text, attachments) == [b"a", {"x": [b"b"]}, "s"]


def test_plain_json_has_no_attachments_and_keeps_unicode() -> None:
    assert _codec.encode(["é", 1.5, None]) == ('["é",1.5,null]', [])


def test_tuples_are_several_arguments_and_none_is_none() -> None:
    assert _codec.args_of(None) == []
    assert _codec.args_of((1, 2)) == [1, 2]
    assert _codec.args_of([1, 2]) == [[1, 2]]
    assert _codec.unpack([]) is None
    assert _codec.unpack([1]) == 1
    assert _codec.unpack([1, 2]) == (1, 2)


def test_unserializable_values_raise_type_error() -> None:
    with pytest.raises(TypeError):
        _codec.encode([object()])


def test_every_exception_is_a_ferrio_error() -> None:
    for name in (
        "ConnectionError",
        "ConnectionRefusedError",
        "TimeoutError",
        "DisconnectedError",
        "BadNamespaceError",
        "EmitError",
        "InternalError",
    ):
        assert issubclass(getattr(ferrio, name), ferrio.FerrioError)
    assert not issubclass(ferrio.ConnectionError, builtins.ConnectionError)
    assert issubclass(ferrio.ConnectionRefusedError, ferrio.ConnectionError)
