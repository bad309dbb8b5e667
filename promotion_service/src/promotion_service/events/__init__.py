"""The first-login event contract, as this service reads it."""
