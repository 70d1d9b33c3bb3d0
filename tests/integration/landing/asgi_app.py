"""A minimal ASGI app factory for `loom serve` tests (the process supervision,
not the ingest API, is under test there)."""

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
