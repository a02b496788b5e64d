"""The in-flight limit lets at most so many requests into the application at once (so a
request holding a database connection always finds a worker thread); the rest wait, none is
refused, and live streams are not counted."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from voltpool.api.inflight import InFlightLimit


def _counting_app() -> tuple[object, dict[str, int]]:
    seen = {"inside": 0, "most": 0}

    async def app(scope, receive, send) -> None:
        seen["inside"] += 1
        seen["most"] = max(seen["most"], seen["inside"])
        await asyncio.sleep(0.02)
        seen["inside"] -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app, seen


@pytest.mark.parametrize(("path", "most"), [("/v1/cars", 3), ("/v1/stream", 12)])
def test_at_most_the_limit_is_inside_and_every_request_is_answered(path: str, most: int) -> None:
    app, seen = _counting_app()
    limited = InFlightLimit(app, limit=3)

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=limited)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answers = await asyncio.gather(*(client.get(path) for _ in range(12)))
        return [a.status_code for a in answers]

    assert asyncio.run(burst()) == [200] * 12
    assert seen["most"] == most


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        InFlightLimit(_counting_app()[0], limit=0)
