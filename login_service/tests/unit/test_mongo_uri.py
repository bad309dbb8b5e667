"""Production refuses a database URI without credentials, or without TLS unless waived."""

import pytest

from login_service.mongo_uri import mongodb_uri_problem

WAIVER = "X_MONGODB_TLS_WAIVED"


@pytest.mark.parametrize(
    ("uri", "waived", "refused_for"),
    [
        ("mongodb://db:27017/?replicaSet=rs0&tls=true", False, "credentials"),
        ("mongodb://svc:pw@db:27017/?replicaSet=rs0", False, "tls=true"),
        ("mongodb://svc:pw@db:27017/?replicaSet=rs0&tls=false", False, "tls=true"),
        ("mongodb://svc:pw@db:27017/?replicaSet=rs0", True, None),
        ("mongodb://svc:pw@db:27017/?replicaSet=rs0&tls=true", False, None),
        ("mongodb://svc:pw@db:27017/?ssl=true", False, None),
        ("mongodb+srv://svc:pw@cluster.example/", False, None),
        ("mongodb+srv://svc:pw@cluster.example/?tls=false", False, "tls=true"),
        ("mongodb://db:27017/?authMechanism=MONGODB-X509&tls=true", False, None),
        ("mongodb://svc:pw@db:27017/?tls=true&tlsInsecure=true", True, "tlsInsecure"),
        ("mongodb://svc:pw@db/?tls=true&tlsAllowInvalidCertificates=true", False, "unchecked"),
    ],
)
def test_the_uri_needs_credentials_and_tls_unless_waived(
    uri: str, waived: bool, refused_for: str | None
) -> None:
    problem = mongodb_uri_problem(uri, tls_waived=waived, waiver=WAIVER)
    if refused_for is None:
        assert problem is None
    else:
        assert problem is not None
        assert refused_for in problem
        assert "pw" not in problem  # never the URI itself
