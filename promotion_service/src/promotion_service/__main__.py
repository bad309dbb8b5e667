"""`python -m promotion_service`: the HTTP API under uvicorn (PROMOTION_PORT, PROMOTION_WORKERS)."""

import uvicorn

from promotion_service.api_metrics import shared_metrics_directory
from promotion_service.config import settings_or_exit


def main() -> None:
    settings = settings_or_exit()
    with shared_metrics_directory(settings.workers):
        uvicorn.run(
            "promotion_service.main:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            access_log=False,  # one structured line per request comes from our middleware
            proxy_headers=True,
            server_header=False,
            log_config=None,
        )


if __name__ == "__main__":
    main()
