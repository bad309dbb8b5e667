"""Bearer tokens issued by the login service, verified against its JWKS."""
