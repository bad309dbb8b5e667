"""Password policy (NIST SP 800-63B style: length and obvious guesses, no composition rules)."""

import unicodedata

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128

# The most common leaked passwords of at least 12 characters; a stand-in for a full
# breached-password check, which needs an external list.
_COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "qwertyuiopas",
        "qwerty123456",
        "password1234",
        "password12345",
        "passwordpassword",
        "iloveyou1234",
        "aaaaaaaaaaaa",
        "111111111111",
        "letmein12345",
        "welcome12345",
        "administrator",
        "changeme1234",
    }
)


def normalize_password(password: str) -> str:
    """NFKC form of a password, so that equal-looking input hashes equally (RFC 8265 spirit)."""
    return unicodedata.normalize("NFKC", password)


def password_problems(password: str, *, username: str, email: str) -> list[str]:
    """Every reason a password is refused (empty when it is acceptable).

    The messages never repeat the password.
    """
    text = normalize_password(password)
    folded = text.casefold()
    problems: list[str] = []
    if len(text) < PASSWORD_MIN_LENGTH:
        problems.append(f"password must be at least {PASSWORD_MIN_LENGTH} characters long")
    if len(text) > PASSWORD_MAX_LENGTH:
        problems.append(f"password must be at most {PASSWORD_MAX_LENGTH} characters long")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        problems.append("password must not contain control characters")
    user = username.casefold()
    if user and user in folded:
        problems.append("password must not contain the username")
    local_part = email.rpartition("@")[0].casefold()
    if len(local_part) >= 3 and local_part in folded:
        problems.append("password must not contain the email address")
    if folded in _COMMON_PASSWORDS or len(set(folded)) < 4:
        problems.append("password is too easy to guess")
    return problems
