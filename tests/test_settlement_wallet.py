"""The V2V "available credits" port on the ledger (LedgerWallet), on SQLite and PostgreSQL.

Holds are pending transfers between ``<member>.credits`` accounts, released by a post (the paid
amount) or a void; a hold the payer cannot cover is refused with nothing written; a release
posts at most once; credits are conserved; and any sequence of holds and releases leaves the
same amounts available as the in-memory wallet the simulator uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voltpool.ledger import Conflict, InvalidInput, Ledger, NotFound, Rejected
from voltpool.settlement import LedgerWallet, credit_account
from voltpool.settlement.wallet import pending_id
from voltpool.sharing.wallet import MemoryWallet, Wallet

MEMBERS = ("alice", "bob", "carol")
STARTING_MILLICREDITS = 1_000
POOL = "circle.pool"


def funded(url: str) -> Ledger:
    """A ledger where every member holds ``STARTING_MILLICREDITS`` granted by the pool."""
    ledger = Ledger.open(url)
    ledger.create_account(POOL, owner="circle", kind="pool", unit="credit")
    for member in MEMBERS:
        ledger.create_account(credit_account(member), owner=member, kind="owner", unit="credit")
        ledger.transfer(
            f"grant.{member}",
            POOL,
            credit_account(member),
            STARTING_MILLICREDITS,
            "credit",
            "grant",
        )
    return ledger


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    opened = funded(ledger_url)
    try:
        yield opened
    finally:
        opened.close()


def available(wallet: Wallet) -> dict[str, int]:
    return {member: wallet.available_millicredits(member) for member in MEMBERS}


def member_net(ledger: Ledger) -> int:
    """What the members hold together, posted (holds between them move nothing until posted)."""
    balances = ledger.balances([credit_account(m) for m in MEMBERS])
    return sum(b.net for b in balances.values())


def test_it_is_a_wallet(ledger: Ledger) -> None:
    assert isinstance(LedgerWallet(ledger), Wallet)


def test_a_hold_reserves_and_its_release_pays_the_payee_and_returns_the_rest(
    ledger: Ledger,
) -> None:
    wallet = LedgerWallet(ledger)
    assert wallet.hold("h1", "alice", "bob", 300)
    assert available(wallet) == {"alice": 700, "bob": 1_000, "carol": 1_000}
    hold = ledger.get_transfer(pending_id("h1"))
    assert (hold.kind, hold.status, hold.amount, hold.code) == ("pending", "pending", 300, "v2v")
    assert (hold.debit_account, hold.credit_account) == ("alice.credits", "bob.credits")
    wallet.release("h1", 200)
    assert available(wallet) == {"alice": 800, "bob": 1_200, "carol": 1_000}
    assert ledger.get_transfer(pending_id("h1")).status == "posted"
    assert ledger.get_transfer("h1.post").amount == 200
    # nothing paid: the hold is voided and the payer has everything back
    assert wallet.hold("h2", "carol", "alice", 500)
    wallet.release("h2", 0)
    assert ledger.get_transfer(pending_id("h2")).status == "voided"
    assert available(wallet) == {"alice": 800, "bob": 1_200, "carol": 1_000}
    assert member_net(ledger) == len(MEMBERS) * STARTING_MILLICREDITS
    assert ledger.verify().ok


def test_a_hold_larger_than_the_balance_is_refused_and_writes_nothing(ledger: Ledger) -> None:
    wallet = LedgerWallet(ledger)
    assert wallet.hold("h1", "alice", "bob", 600)
    before = ledger.verify().transfers
    assert not wallet.hold("h2", "alice", "bob", 401)  # 400 left after the first hold
    assert ledger.verify().transfers == before
    assert ledger.rejection(pending_id("h2")) is None  # the id is not burnt
    with pytest.raises(NotFound):
        ledger.get_transfer(pending_id("h2"))
    assert available(wallet)["alice"] == 400
    refused = wallet.reserve("h2", "alice", "bob", 401)
    assert refused.status == "refused" and "0.4 credits available" in refused.reason
    assert wallet.reserve("h3", "nobody", "bob", 1).reason == "nobody has no credit account"
    # once the first hold is released the same id fits
    wallet.release("h1", 0)
    assert wallet.hold("h2", "alice", "bob", 401)
    assert available(wallet)["alice"] == 599


def test_a_release_posts_at_most_once(ledger: Ledger) -> None:
    wallet = LedgerWallet(ledger)
    assert wallet.hold("h1", "alice", "bob", 300)
    with pytest.raises(InvalidInput, match="paid_millicredits"):
        wallet.release("h1", 301)  # more than held: refused before anything is written
    assert ledger.rejection("h1.post") is None
    wallet.release("h1", 250)
    after = (available(wallet), ledger.verify().transfers)
    wallet.release("h1", 250)  # a retry: "exists", nothing written
    assert wallet.resolve("h1", 250).status == "exists"
    assert (available(wallet), ledger.verify().transfers) == after
    with pytest.raises(Conflict):
        wallet.release("h1", 100)  # the same post with another amount
    with pytest.raises(Rejected, match="already posted"):
        wallet.release("h1", 0)  # a void after the post
    assert available(wallet) == {"alice": 750, "bob": 1_250, "carol": 1_000}
    assert member_net(ledger) == len(MEMBERS) * STARTING_MILLICREDITS
    assert ledger.verify().ok


def test_a_hold_of_nothing_writes_nothing(ledger: Ledger) -> None:
    wallet = LedgerWallet(ledger)
    before = ledger.verify().transfers
    assert wallet.reserve("free", "alice", "bob", 0).status == "free"
    wallet.release("free", 0)
    assert ledger.verify().transfers == before
    with pytest.raises(NotFound, match="nothing is held"):
        wallet.release("free", 1)
    with pytest.raises(InvalidInput, match="amount_millicredits"):
        wallet.hold("h1", "alice", "bob", -1)


def test_a_hold_retried_with_the_same_values_is_held_once(ledger: Ledger) -> None:
    wallet = LedgerWallet(ledger)
    assert wallet.reserve("h1", "alice", "bob", 300).status == "reserved"
    assert wallet.reserve("h1", "alice", "bob", 300).status == "exists"
    assert available(wallet)["alice"] == 700
    with pytest.raises(Conflict):
        wallet.hold("h1", "alice", "bob", 200)


HOLD = st.tuples(
    st.just("hold"),
    st.sampled_from([(a, b) for a in MEMBERS for b in MEMBERS if a != b]),
    st.integers(0, 1_200),
)
RELEASE = st.tuples(st.just("release"), st.integers(0, 10), st.integers(0, 100))
"""Release one of the open holds (by index, modulo how many are open), paying a percentage."""


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(HOLD, RELEASE), max_size=10))
def test_the_ledger_wallet_behaves_like_the_memory_wallet(
    ledger_url_factory: Callable[[], str], steps: list[tuple]
) -> None:
    memory = MemoryWallet(MEMBERS, STARTING_MILLICREDITS)
    with funded(ledger_url_factory()) as ledger:
        wallet = LedgerWallet(ledger)
        open_holds: list[tuple[str, int]] = []
        for n, step in enumerate(steps):
            if step[0] == "hold":
                _, (payer, payee), amount = step
                held = memory.hold(f"h{n}", payer, payee, amount)
                assert wallet.hold(f"h{n}", payer, payee, amount) == held
                if held:
                    open_holds.append((f"h{n}", amount))
            elif open_holds:
                _, which, paid_pct = step
                hold_id, amount = open_holds.pop(which % len(open_holds))
                paid = amount * paid_pct // 100
                memory.release(hold_id, paid)
                wallet.release(hold_id, paid)
            assert available(wallet) == available(memory)
        assert member_net(ledger) == len(MEMBERS) * STARTING_MILLICREDITS
        assert ledger.verify().ok
