"""Secrets from files: `NAME_FILE=/run/secrets/x` gives the setting read from `NAME` the file's
content, as Docker and Kubernetes secrets are mounted (and as official images read their
`*_FILE` variables). `NAME` itself, when also set and not empty, wins; a setting read from
several names takes the most specific one given either way. A file that cannot be read stops
the start with its variable's name."""

import os
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsError


class SecretFilesSource(PydanticBaseSettingsSource):
    """Values of `secrets` (field name -> the variable names it is read from, in order)."""

    def __init__(self, settings_cls: type[BaseSettings], secrets: dict[str, tuple[str, ...]]):
        super().__init__(settings_cls)
        self._secrets = secrets

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # all the work is in __call__

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field, names in self._secrets.items():
            aliased = self.settings_cls.model_fields[field].validation_alias is not None
            # From the most specific name to the least: the first given, itself or as a file,
            # is the setting's (the own broker URL before a shared RABBITMQ_URL). A more
            # specific name set but empty is no value: what a less specific one gives is put
            # under its key, or the environment source would read the empty one first.
            emptied = False
            for name in names:
                key = names[0] if emptied else name
                if value := os.environ.get(name):
                    if emptied:
                        values[key if aliased else field] = value
                    break
                if path := os.environ.get(f"{name}_FILE"):
                    values[key if aliased else field] = _read(f"{name}_FILE", path)
                    break
                emptied = emptied or name in os.environ
        return values


def _read(variable: str, path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"{variable}: cannot read {path} ({type(error).__name__})") from None
