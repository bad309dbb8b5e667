"""Normalisation decides which spellings are one account."""

from datetime import date

import pytest

from login_service.accounts import normalize


@pytest.mark.parametrize("raw", ["Alice", "ALICE", "alice", "\uff21\uff4c\uff49\uff43\uff45"])
def test_username_variants_in_case_and_width_share_one_key(raw: str) -> None:
    assert normalize.normalize_username(raw)[1] == "alice"


@pytest.mark.parametrize(
    "raw",
    [
        "al",
        "1alice",
        "alice-",
        "al ice",
        "ali\u200bce",
        "ali\u0007ce",
        "ali\u202ece",
        "ålice",
        " alice",
    ],
)
def test_usernames_outside_the_pattern_or_with_invisible_characters_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="username"):
        normalize.normalize_username(raw)


def test_email_key_is_case_folded_and_display_keeps_the_local_part() -> None:
    display, key = normalize.normalize_email("Ada.Lovelace@Example.COM")
    assert display == "Ada.Lovelace@example.com"
    assert key == "ada.lovelace@example.com"


@pytest.mark.parametrize("raw", ["no-at-sign", "a@b", "a\u200b@example.com", "x" * 300 + "@e.com"])
def test_invalid_emails_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="email"):
        normalize.normalize_email(raw)


@pytest.mark.parametrize(
    "raw", ["+442079460958", "+44 20 7946 0958", "+44 (0)20 7946 0958", "+44-20-7946-0958"]
)
def test_phone_formats_of_one_number_share_one_e164_key(raw: str) -> None:
    assert normalize.normalize_phone(raw) == "+442079460958"


def test_national_phone_numbers_parse_only_with_a_default_region() -> None:
    assert normalize.normalize_phone("020 7946 0958", "GB") == "+442079460958"
    with pytest.raises(ValueError, match="phone"):
        normalize.normalize_phone("020 7946 0958")


@pytest.mark.parametrize("raw", ["12", "+44 20", "+999 123456", "+4420794\u200b60958"])
def test_invalid_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="phone"):
        normalize.normalize_phone(raw)


def test_full_name_is_trimmed_and_refuses_bidi_overrides() -> None:
    assert normalize.normalize_full_name("  Ada   Lovelace ") == "Ada Lovelace"
    with pytest.raises(ValueError, match="full_name"):
        normalize.normalize_full_name("Ada\u202eecalevoL")


def test_birthday_in_the_future_or_implausibly_old_is_refused() -> None:
    today = date(2026, 11, 25)
    assert normalize.check_birthday(date(1990, 1, 1), today) == date(1990, 1, 1)
    with pytest.raises(ValueError, match="future"):
        normalize.check_birthday(date(2026, 11, 26), today)
    with pytest.raises(ValueError, match="130"):
        normalize.check_birthday(date(1890, 1, 1), today)


@pytest.mark.parametrize(
    ("raw", "kind", "key"),
    [
        ("Ada@Example.com", "email", "ada@example.com"),
        ("+44 20 7946 0958", "phone", "+442079460958"),
        ("ADA.Lovelace", "username", "ada.lovelace"),
        ("not@valid@", "email", "not@valid@"),
    ],
)
def test_login_identifiers_are_classified_and_normalised(raw: str, kind: str, key: str) -> None:
    identifier = normalize.classify_identifier(raw)
    assert (identifier.kind, identifier.key) == (kind, key)


def test_email_domains_that_differ_only_as_idna_labels_are_different_accounts() -> None:
    # faß.de (xn--fa-hia.de) and fass.de are two registrable domains (IDNA 2008, UTS#46
    # non-transitional): case-folding the domain as text would merge them.
    assert normalize.normalize_email("a@faß.de")[1] == "a@xn--fa-hia.de"
    assert normalize.normalize_email("a@fass.de")[1] == "a@fass.de"


def test_email_key_case_folds_the_local_part_and_lower_cases_the_a_label() -> None:
    key = normalize.normalize_email("STRASSE.Ä@Bücher.Example")[1]
    assert key == "strasse.ä@xn--bcher-kva.example"
    assert normalize.normalize_email("Straße@FASS.de")[1] == "strasse@fass.de"
