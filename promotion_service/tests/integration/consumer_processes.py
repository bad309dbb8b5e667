"""Start and stop `python -m promotion_service.consumer` processes for tests."""

import asyncio
import subprocess
import sys
from pathlib import Path

from promotion_service.config import Settings
from tests.conftest import PROJECT_ROOT, consumer_env


class ConsumerProcess:
    """One consumer subprocess whose output goes to a log file."""

    def __init__(
        self,
        settings: Settings,
        log_dir: Path,
        name: str,
        module: str = "promotion_service.consumer",
        **env: str,
    ) -> None:
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=PROJECT_ROOT,
            env=consumer_env(settings, PROMOTION_CONSUMER_NAME=name, **env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    async def wait(self, timeout: float) -> int:
        deadline = asyncio.get_running_loop().time() + timeout
        while self.process.poll() is None:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"consumer still running after {timeout} s:\n{self.output()}")
            await asyncio.sleep(0.1)
        self._log.close()
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()
