"""`python -m promotion_service`: the HTTP API under uvicorn (PROMOTION_PORT, PROMOTION_WORKERS)."""

import uvicorn

from promotion_service.config import settings_or_exit
from promotion_service.logs import configure_logging
from promotion_service.metrics import shared_metrics_directory
from promotion_service.serving import serve


def main() -> None:
    settings = settings_or_exit()
    configure_logging(json_logs=settings.json_logs, level=settings.log_level)
    with shared_metrics_directory(settings.workers):
        serve(
            uvicorn.Config(
                "promotion_service.main:create_app",
                factory=True,
                host=settings.host,
                port=settings.port,
                workers=settings.workers,
                access_log=False,  # one structured line per request comes from our middleware
                proxy_headers=True,
                server_header=False,
                log_config=None,
                timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
            ),
            drain_seconds=settings.drain_seconds,
        )


if __name__ == "__main__":
    main()
