"""Many clients moving credits at once over HTTP (SQLite and PostgreSQL): every transfer is
answered (created, or refused for want of credits, never a 500), credits are conserved, no
account is ever overdrawn, and the ledger's own check of its log agrees with the balances."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from api_server import live_server
from voltpool.ledger import Ledger

OWNERS = 4
GRANT_CREDITS = 5
THREADS = 8
TRANSFERS_PER_THREAD = 12


def test_concurrent_transfers_keep_conservation_and_never_overdraw(ledger_url: str) -> None:
    with live_server(ledger_url, tick=False) as server:
        owners = [server.register(f"owner{i}@example.org") for i in range(OWNERS)]
        admin = server.admin()
        for owner in owners:
            granted = admin.client.post(
                "/v1/credits/grants",
                json={"to_email": owner.email, "amount_credits": GRANT_CREDITS},
                headers={"Idempotency-Key": f"grant-{owner.email}"},
            )
            assert granted.status_code == 201, granted.text

        def worker(seed: int) -> list[int]:
            rng = random.Random(seed)
            codes = []
            for n in range(TRANSFERS_PER_THREAD):
                giver, taker = rng.sample(owners, 2)
                answer = giver.client.post(
                    "/v1/credits/transfers",
                    json={"to_email": taker.email, "amount_credits": rng.choice([0.5, 1, 2])},
                    headers={"Idempotency-Key": f"t-{seed}-{n}"},
                )
                codes.append(answer.status_code)
                assert answer.status_code in (201, 409), answer.text
            return codes

        with ThreadPoolExecutor(THREADS) as pool:
            codes = [c for batch in pool.map(worker, range(THREADS)) for c in batch]
        balances = [o.client.get("/v1/credits").json()["balance_credits"] for o in owners]
        assert codes.count(201) > 0
        assert min(balances) >= 0
        assert sum(balances) == OWNERS * GRANT_CREDITS
        moves = sum(len(o.client.get("/v1/credits?limit=500").json()["moves"]) for o in owners)
        assert moves == OWNERS + 2 * codes.count(201)  # a grant each, two sides per transfer
    with Ledger.open(ledger_url) as ledger:
        report = ledger.verify()
    assert report.ok, report.problems
