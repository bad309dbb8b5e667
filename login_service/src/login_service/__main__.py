"""``python -m login_service``: serve the API with Uvicorn (LOGIN_WORKERS processes)."""

import uvicorn

from login_service.config import get_settings
from login_service.logs import configure_logging


def main() -> None:
    settings = get_settings()
    # Uvicorn keeps its hands off logging: every process logs through structlog.
    configure_logging(settings)
    uvicorn.run(
        "login_service.main:create_app",
        factory=True,
        host=settings.bind_host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
