"""The request body parser refuses a repeated key at any depth and reads the rest as json does."""

import json

import pytest

from login_service.json_body import DUPLICATE_KEY_MESSAGE, loads_without_duplicate_keys


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "a": 1}',
        b'{"a": {"b": 1, "c": 2, "b": 3}}',
        b'[{"ok": 1}, {"x": [{"y": 1, "y": 2}]}]',
        b'{"\\u0061": 1, "a": 2}',  # the same key, once escaped
    ],
)
def test_a_repeated_key_at_any_depth_is_a_decode_error(body: bytes) -> None:
    with pytest.raises(json.JSONDecodeError, match=DUPLICATE_KEY_MESSAGE):
        loads_without_duplicate_keys(body)


@pytest.mark.parametrize(
    "body",
    [b'{"a": 1, "b": {"a": 2}}', b'[{"a": 1}, {"a": 2}]', b"{}", b'"text"', b"[]"],
)
def test_equal_keys_in_different_objects_are_no_duplicate(body: bytes) -> None:
    assert loads_without_duplicate_keys(body) == json.loads(body)
