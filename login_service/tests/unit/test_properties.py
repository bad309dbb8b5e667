"""Hypothesis properties of the pure parts: identifier normalisation and token parsing."""

import base64
import json
from datetime import UTC, datetime

import idna
import jwt
import phonenumbers
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from login_service.accounts import normalize
from login_service.auth.keys import KeySet
from login_service.auth.tokens import TokenPolicy, issue_access_token, verify_access_token
from login_service.errors import InvalidToken

PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
POLICY = TokenPolicy(issuer="urn:bank:login", audience="urn:bank:api")

# Local parts and domain labels mixing ASCII, letters that case-fold to several letters (ß),
# letters with and without diacritics, and upper case: the spellings that collide or not.
LOCAL_PART = st.text(alphabet="abcXYZß.ÄäÜü_-0123", min_size=1, max_size=12).filter(
    lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s
)
LABEL = st.text(alphabet="abcsSßüÜ-xn", min_size=1, max_size=10).filter(
    lambda s: not s.startswith("-") and not s.endswith("-") and s[2:4] != "--"
)
DOMAIN = st.builds(lambda a, b: f"{a}.{b}", LABEL, st.sampled_from(["de", "Example", "COM"]))


def _email_key_or_none(address: str) -> str | None:
    try:
        return normalize.normalize_email(address)[1]
    except ValueError:
        return None


def _a_label(domain: str) -> str:
    """The oracle: the UTS#46 (non-transitional) A-label, lower-cased."""
    return idna.encode(domain, uts46=True, transitional=False).decode().lower()


@PROPERTY_SETTINGS
@given(st.text(max_size=40))
def test_username_normalisation_is_idempotent(raw: str) -> None:
    try:
        display, key = normalize.normalize_username(raw)
    except ValueError:
        return
    assert normalize.normalize_username(display)[1] == key
    assert normalize.normalize_username(key) == (key, key)


@PROPERTY_SETTINGS
@given(LOCAL_PART, DOMAIN)
def test_email_normalisation_is_idempotent(local: str, domain: str) -> None:
    key = _email_key_or_none(f"{local}@{domain}")
    if key is None:
        return
    display = normalize.normalize_email(f"{local}@{domain}")[0]
    assert _email_key_or_none(display) == key
    assert _email_key_or_none(key) == key


@PROPERTY_SETTINGS
@given(LOCAL_PART, DOMAIN, LOCAL_PART, DOMAIN)
@example("a", "faß.de", "a", "fass.de")
@example("Straße", "ÜBER.de", "STRASSE", "über.DE")
def test_two_emails_collide_exactly_when_local_parts_fold_and_a_labels_match(
    local_a: str, domain_a: str, local_b: str, domain_b: str
) -> None:
    key_a = _email_key_or_none(f"{local_a}@{domain_a}")
    key_b = _email_key_or_none(f"{local_b}@{domain_b}")
    if key_a is None or key_b is None:
        return
    should_collide = local_a.casefold() == local_b.casefold() and _a_label(domain_a) == _a_label(
        domain_b
    )
    assert (key_a == key_b) is should_collide


@PROPERTY_SETTINGS
@given(
    st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
    st.sampled_from(["E164", "INTERNATIONAL", "spaced", "dashed"]),
)
def test_every_spelling_of_a_phone_number_has_one_key(region: str, spelling: str) -> None:
    number = phonenumbers.example_number(region)
    if number is None:
        return
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    text = {
        "E164": e164,
        "INTERNATIONAL": international,
        "spaced": " ".join(e164),
        "dashed": international.replace(" ", "-"),
    }[spelling]
    if len(text) > normalize.PHONE_INPUT_MAX:
        return
    assert normalize.normalize_phone(text) == e164
    assert normalize.classify_identifier(text).key == e164


@PROPERTY_SETTINGS
@given(st.text(max_size=80))
def test_classifying_any_login_identifier_never_raises_and_is_stable(raw: str) -> None:
    identifier = normalize.classify_identifier(raw)
    assert identifier.kind in {"username", "email", "phone"}


@pytest.fixture(scope="module")
def keys() -> KeySet:
    return KeySet.create(ec.generate_private_key(ec.SECP256R1()), "ES256")


def _segment(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["ES256", "RS256", "HS256", "none", "EdDSA", ""]) | JSON_VALUES,
        "typ": st.sampled_from(["JWT", "jwt", "at+jwt"]) | JSON_VALUES,
        "kid": st.text(max_size=20) | JSON_VALUES,
        "crit": JSON_VALUES,
    },
)


@settings(PROPERTY_SETTINGS, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(
        st.text(max_size=200),
        st.builds(
            lambda h, p, s: f"{_segment(h)}.{_segment(p)}.{s}",
            HEADERS | JSON_VALUES,
            JSON_VALUES | st.binary(max_size=30),
            st.text(alphabet="abcXYZ-_=.", max_size=40),
        ),
    )
)
def test_any_token_text_is_refused_only_with_invalid_token(keys: KeySet, token: str) -> None:
    with pytest.raises(InvalidToken):
        verify_access_token(keys, POLICY, token)


@settings(PROPERTY_SETTINGS, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_a_real_token_with_any_byte_changed_is_refused_only_with_invalid_token(
    keys: KeySet, data: st.DataObject
) -> None:
    token = issue_access_token(keys, POLICY, "acct-1", datetime.now(UTC)).access_token
    index = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != token[index]))
    tampered = token[:index] + replacement + token[index + 1 :]
    try:
        claims = verify_access_token(keys, POLICY, tampered)
    except InvalidToken:
        return
    # Base64url has spare bits in its last character: a change there may decode to the same
    # bytes, and then the token is the same token.
    assert claims["sub"] == "acct-1"
    assert jwt.get_unverified_header(tampered) == jwt.get_unverified_header(token)
