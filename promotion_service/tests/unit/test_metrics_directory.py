"""Where the workers of ``python -m promotion_service`` keep their shared metrics."""

import os
from pathlib import Path

import pytest

from promotion_service.metrics import MULTIPROCESS_DIR_ENV, shared_metrics_directory


def test_several_workers_share_a_private_directory_removed_on_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MULTIPROCESS_DIR_ENV, raising=False)
    with shared_metrics_directory(workers=3) as directory:
        assert directory is not None
        assert directory.is_dir()
        assert os.environ[MULTIPROCESS_DIR_ENV] == str(directory)
    assert not directory.exists()
    assert MULTIPROCESS_DIR_ENV not in os.environ


def test_one_worker_keeps_its_metrics_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROCESS_DIR_ENV, raising=False)
    with shared_metrics_directory(workers=1) as directory:
        assert directory is None
        assert MULTIPROCESS_DIR_ENV not in os.environ


def test_an_operators_directory_is_created_or_emptied_of_the_last_runs_values(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    configured = tmp_path / "metrics"
    configured.mkdir()
    (configured / "counter_4242.db").write_bytes(b"stale")
    (configured / "README").write_text("not ours")
    monkeypatch.setenv(MULTIPROCESS_DIR_ENV, str(configured))
    with shared_metrics_directory(workers=2) as directory:
        assert directory == configured
        assert sorted(p.name for p in configured.iterdir()) == ["README"]
    assert configured.is_dir()  # the operator's directory stays

    monkeypatch.setenv(MULTIPROCESS_DIR_ENV, str(tmp_path / "new" / "metrics"))
    with shared_metrics_directory(workers=1) as directory:
        assert directory == tmp_path / "new" / "metrics"
        assert directory.is_dir()
