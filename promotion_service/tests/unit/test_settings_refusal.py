"""A refused start: one clear line naming the setting, never its value, and exit status 2."""

import json

import pytest

from promotion_service.config import get_settings, settings_or_exit


def test_a_refused_start_is_one_clear_line_naming_the_setting_never_its_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("PROMOTION_MAX_ATTEMPTS", "not-a-number-secret-58")
    try:
        with pytest.raises(SystemExit) as exited:
            settings_or_exit()
    finally:
        get_settings.cache_clear()
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    logged = json.loads(line)
    assert logged["event"] == "refusing_to_start"
    assert logged["reason"].startswith("PROMOTION_MAX_ATTEMPTS: ")
    assert "not-a-number-secret-58" not in line
    assert "Traceback" not in line
