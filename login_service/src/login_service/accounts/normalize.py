"""Pure normalisation of account fields: what makes two spellings the same account.

Every function raises ``ValueError`` with a message fit for a 422 response (it never
repeats the submitted value).
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{1,30}[a-z0-9]$")
USERNAME_RULE = (
    "3 to 32 characters: letters a-z, digits, '.', '_' or '-'; "
    "starting with a letter and ending with a letter or digit"
)
MAX_AGE_YEARS = 130
FULL_NAME_MAX = 100
EMAIL_MAX = 254
PHONE_INPUT_MAX = 32

# Bidirectional overrides and isolates let text display differently from what it is.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def has_control_characters(text: str) -> bool:
    """True for C0/C1 controls, format characters (zero-width, bidi) and unassigned code points."""
    return any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in text)


def normalize_username(raw: str) -> tuple[str, str]:
    """Return (display form, unique key) of a username.

    NFKC folds compatibility forms (full-width letters, ligatures) into their plain
    letters; the key is case-folded so ``Alice`` and ``alice`` are one account.
    """
    if has_control_characters(raw):
        raise ValueError("username must not contain control, format or zero-width characters")
    display = unicodedata.normalize("NFKC", raw)
    if display != display.strip():
        raise ValueError("username must not start or end with whitespace")
    key = display.casefold()
    if not USERNAME_PATTERN.fullmatch(key):
        raise ValueError(f"username must be {USERNAME_RULE}")
    return display, key


def normalize_email(raw: str) -> tuple[str, str]:
    """Return (display form, unique key) of an email address.

    The key case-folds the local part only. The domain is compared as its IDNA A-label
    (UTS#46 non-transitional, as email-validator maps it), lower-cased: case-folding a
    domain as text would merge different registrable domains (``faß.de`` is
    ``xn--fa-hia.de``, not ``fass.de``).
    """
    if len(raw) > EMAIL_MAX or has_control_characters(raw):
        raise ValueError("email is not a valid email address")
    text = unicodedata.normalize("NFKC", raw).strip()
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError("email is not a valid email address") from exc
    return result.normalized, f"{result.local_part.casefold()}@{result.ascii_domain.lower()}"


def check_phone_text(raw: str) -> str:
    """Refuse input that cannot be a phone number in any region (length, control characters)."""
    if len(raw) > PHONE_INPUT_MAX or has_control_characters(raw):
        raise ValueError("phone is not a valid phone number")
    return raw


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """Return the E.164 form of a phone number (the unique key and the display form).

    Without ``default_region`` only international numbers (``+44 …``) parse.
    """
    text = unicodedata.normalize("NFKC", check_phone_text(raw)).strip()
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(
            "phone is not a valid phone number (international format, e.g. +44 20 7946 0958)"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("phone is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_full_name(raw: str) -> str:
    """Return a full name in NFKC with surrounding whitespace removed."""
    if any(unicodedata.category(ch) == "Cc" for ch in raw) or _BIDI_CONTROLS & set(raw):
        raise ValueError("full_name must not contain control or bidirectional override characters")
    name = " ".join(unicodedata.normalize("NFKC", raw).split())
    if not name:
        raise ValueError("full_name must not be blank")
    if len(name) > FULL_NAME_MAX:
        raise ValueError(f"full_name must be at most {FULL_NAME_MAX} characters")
    return name


def check_birthday(birthday: date, today: date) -> date:
    """Refuse birthdays in the future or implausibly long ago."""
    if birthday > today:
        raise ValueError("birthday must not be in the future")
    if today.year - birthday.year > MAX_AGE_YEARS:
        raise ValueError(f"birthday must be within the last {MAX_AGE_YEARS} years")
    return birthday


IdentifierKind = Literal["username", "email", "phone"]


@dataclass(frozen=True, slots=True)
class LoginIdentifier:
    """Which unique key a login identifier names, and its normalised value."""

    kind: IdentifierKind
    key: str


def classify_identifier(raw: str, default_region: str | None = None) -> LoginIdentifier:
    """Read a login identifier as an email, a phone number or a username.

    Usernames start with a letter, so a value with '@' is an email and one starting
    with '+', '(' or a digit is a phone number. Unparseable values still get a key
    (never an error) so that unknown and malformed identifiers cost the same work.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    if "@" in text:
        try:
            return LoginIdentifier("email", normalize_email(text)[1])
        except ValueError:
            return LoginIdentifier("email", text.casefold())
    if text[:1] in {"+", "("} or text[:1].isdigit():
        try:
            return LoginIdentifier("phone", normalize_phone(text, default_region))
        except ValueError:
            return LoginIdentifier("phone", text)
    return LoginIdentifier("username", text.casefold())
