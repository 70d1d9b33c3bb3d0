"""The baseline of bench/ingest_throughput.py: a FastAPI endpoint that does nothing."""

from fastapi import FastAPI

app = FastAPI()


@app.post("/noop", status_code=202)
async def noop() -> dict[str, bool]:
    """Answer at once; uvicorn still reads the request like any other."""
    return {"ok": True}
