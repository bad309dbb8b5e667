"""The database URI's safety in production: credentials, and TLS unless waived."""

from urllib.parse import parse_qsl, urlsplit

# Options that keep TLS but stop checking the server's certificate or name.
INSECURE_TLS = ("tlsInsecure", "tlsAllowInvalidCertificates", "tlsAllowInvalidHostnames")


def mongodb_uri_problem(uri: str, *, tls_waived: bool, waiver: str) -> str | None:
    """Why `uri` is unsafe for production, naming what to set (never quoting the URI), or None.

    A client certificate (`authMechanism=MONGODB-X509`) counts as credentials; `mongodb+srv`
    turns TLS on unless the URI turns it off.
    """
    parts = urlsplit(uri)
    options = {key.lower(): value.lower() for key, value in parse_qsl(parts.query)}
    if not parts.username and options.get("authmechanism") != "mongodb-x509":
        return (
            "production mode needs MONGODB_URI with credentials (user and password, or a "
            "client certificate)"
        )
    tls = options.get("tls", options.get("ssl", "true" if parts.scheme == "mongodb+srv" else ""))
    unchecked = [name for name in INSECURE_TLS if options.get(name.lower()) == "true"]
    if unchecked:
        return f"production mode refuses MONGODB_URI with {unchecked[0]}=true (TLS unchecked)"
    if tls != "true" and not tls_waived:
        return (
            f"production mode needs MONGODB_URI with tls=true, or {waiver}=true where the "
            "database is reached over a private network only"
        )
    return None
