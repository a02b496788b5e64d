"""The central system's write batch: writes that arrive together share a transaction, each
caller gets its own write's value after the commit, and a failing write spoils nobody else's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from voltpool.ocpp.batch import WriteBatch

COUNTERS = sa.Table(
    "counters",
    sa.MetaData(),
    sa.Column("name", sa.String(20), primary_key=True),
    sa.Column("value", sa.Integer()),
)


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'batch.sqlite'}")
    COUNTERS.metadata.create_all(engine)
    return sessionmaker(engine)


def put(db: Session, name: str, value: int) -> str:
    db.execute(COUNTERS.insert().values(name=name, value=value))
    return name


def rows(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as db:
        return {name: value for name, value in db.execute(sa.select(COUNTERS)).all()}


def test_writes_woken_together_share_transactions_and_each_gets_its_value(
    sessions: sessionmaker[Session],
) -> None:
    batch = WriteBatch(sessions)

    async def main() -> list[str]:
        return await asyncio.gather(*(batch.run(put, f"s{k}", k) for k in range(200)))

    names = asyncio.run(main())
    assert names == [f"s{k}" for k in range(200)]
    assert rows(sessions) == {f"s{k}": k for k in range(200)}
    assert batch.writes == 200 and batch.transactions <= 2


def test_a_failing_write_gets_its_error_and_the_others_commit(
    sessions: sessionmaker[Session],
) -> None:
    batch = WriteBatch(sessions)

    async def main() -> list[object]:
        writes = [batch.run(put, f"s{k}", k) for k in range(5)]
        writes.insert(2, batch.run(put, "s1", 99))  # the same key again: an IntegrityError
        return await asyncio.gather(*writes, return_exceptions=True)

    outcomes = asyncio.run(main())
    assert isinstance(outcomes[2], sa.exc.IntegrityError)
    assert [o for k, o in enumerate(outcomes) if k != 2] == [f"s{k}" for k in range(5)]
    assert rows(sessions) == {f"s{k}": k for k in range(5)}


def test_a_write_after_the_batch_went_out_joins_the_next_one(
    sessions: sessionmaker[Session],
) -> None:
    batch = WriteBatch(sessions)

    async def main() -> None:
        first = asyncio.create_task(batch.run(put, "a", 1))
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # the first transaction is on its way
        assert await batch.run(put, "b", 2) == "b"
        assert await first == "a"

    asyncio.run(main())
    assert rows(sessions) == {"a": 1, "b": 2}
