"""The reference for read throughput: a bare FastAPI endpoint on the services' Uvicorn setup.

``python -m benchmarks.bare_app PORT WORKERS`` serves ``GET /bare`` exactly as the
services serve their APIs (factory app, N workers, no access log, no server header),
with no middleware, no authentication and no database.
"""

import sys

import uvicorn
from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI(title="bare", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/bare")
    async def bare() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    uvicorn.run(
        "benchmarks.bare_app:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
        proxy_headers=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
