"""Credits: the caller's balance and moves, transfers to a friend, grants by an admin.

Every movement names an ``Idempotency-Key`` (any string up to 64 characters the client keeps
for one intended transfer): the ledger transfer id is derived from the caller and the key, so
a retry of the same request answers ``exists`` and moves nothing twice, and the same key with
a different amount or friend is a 409. Each movement is audited. An operator cannot move an
owner's credits: only the owner moves their own.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Header, Query, status
from fastapi.responses import JSONResponse

from voltpool.api import audit
from voltpool.api.deps import Caller, Db, State, require_role
from voltpool.api.problems import ApiProblem, invalid
from voltpool.api.schemas import CreditsOut, Move, TransferIn, TransferOut
from voltpool.api.store.tables import User
from voltpool.api.wallets import GRANTS, open_grants, to_credits, to_millicredits, wallet_id
from voltpool.ledger import Conflict, Rejected

router = APIRouter(prefix="/v1/credits", tags=["credits"])

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=64,
        description="One key per intended movement; a retry with the same key moves nothing",
    ),
]


def _transfer_id(user_id: str, key: str) -> str:
    """A ledger id (<= 64 characters) unique to the caller's key."""
    return "api-" + hashlib.sha256(f"{user_id}\0{key}".encode()).hexdigest()[:56]


@router.get("", response_model=CreditsOut)
def my_credits(
    user: Caller, db: Db, state: State, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> CreditsOut:
    """Balance (posted), what pending holds keep back, and the latest moves, newest first:
    each with the other side (a friend's email, or ``voltpool`` for a grant) and its memo."""
    account = wallet_id(user.id)
    balance = state.ledger.balance(account)
    lines = state.ledger.statement(account, limit=10_000)[-limit:]
    names = _counterparties(db, {line.other_account for line in lines})
    moves = [
        Move(
            transfer_id=line.transfer_id,
            at=line.created_at,
            amount_credits=to_credits(line.amount),
            code=line.code,
            counterparty=names.get(line.other_account, line.other_account),
            memo=str(line.metadata.get("memo", "")),
        )
        for line in reversed(lines)
    ]
    return CreditsOut(
        balance_credits=to_credits(balance.net),
        pending_out_credits=to_credits(balance.debits_pending),
        available_credits=to_credits(balance.available),
        moves=moves,
    )


def _counterparties(db: Db, accounts: set[str]) -> dict[str, str]:
    """Who each ledger account is: a user's wallet by their email, the grants by name."""
    found = db.execute(sa.select(User.id, User.email).where(User.id.in_(_user_ids(accounts))))
    names = {wallet_id(user_id): email for user_id, email in found}
    if GRANTS in accounts:
        names[GRANTS] = "voltpool"
    return names


def _user_ids(accounts: set[str]) -> list[str]:
    suffix = wallet_id("")
    return [a.removesuffix(suffix) for a in accounts if a.endswith(suffix)]


def _friend(db: Db, email: str) -> User:
    friend = db.scalar(sa.select(User).where(User.email == email))
    if friend is None:
        raise invalid("body.to_email", "is not a voltpool account")
    return friend


@router.post(
    "/transfers",
    response_model=TransferOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": TransferOut, "description": "a retry: nothing moved again"}},
)
def send_credits(
    body: TransferIn, key: IdempotencyKey, user: Caller, db: Db, state: State
) -> JSONResponse:
    """Send credits to a friend by email; never more than the caller has available."""
    friend = _friend(db, body.to_email)
    if friend.id == user.id:
        raise invalid("body.to_email", "must be someone else's account")
    amount = to_millicredits(body.amount_credits)
    transfer_id = _transfer_id(user.id, key)
    db.commit()  # the ledger's transaction takes the write lock next
    try:
        result = state.ledger.transfer(
            transfer_id,
            debit_account=wallet_id(user.id),
            credit_account=wallet_id(friend.id),
            amount=amount,
            unit="credit",
            code="gift",
            metadata={"memo": body.memo} if body.memo else None,
        )
    except Conflict:
        raise ApiProblem(
            409,
            "this Idempotency-Key was used for a different transfer: use a new key",
            [{"field": "header.Idempotency-Key", "rule": "must be new for a new transfer"}],
        ) from None
    except Rejected:
        available = to_credits(state.ledger.balance(wallet_id(user.id)).available)
        raise ApiProblem(
            409,
            f"not sent: {body.amount_credits:.3f} credits asked, {available:.3f} available",
            [{"field": "body.amount_credits", "rule": "must not exceed your available credits"}],
        ) from None
    audit.record_once(db, user.id, "credits.send", transfer_id, to=friend.id, millicredits=amount)
    db.commit()
    out = TransferOut(
        transfer_id=transfer_id,
        status=result.status,
        amount_credits=to_credits(result.transfer.amount),
        to_email=friend.email,
        balance_credits=to_credits(state.ledger.balance(wallet_id(user.id)).net),
    )
    code = status.HTTP_201_CREATED if result.status == "created" else status.HTTP_200_OK
    return JSONResponse(out.model_dump(mode="json"), status_code=code)


@router.post("/grants", response_model=TransferOut, status_code=status.HTTP_201_CREATED)
def grant_credits(
    body: TransferIn, key: IdempotencyKey, user: Caller, db: Db, state: State
) -> TransferOut:
    """An admin gives credits to an account (welcome credits, corrections), audited."""
    require_role(user, "admin")
    friend = _friend(db, body.to_email)
    db.commit()  # the ledger's transactions take the write lock next
    open_grants(state.ledger)
    transfer_id = _transfer_id(user.id, key)
    amount = to_millicredits(body.amount_credits)
    try:
        result = state.ledger.transfer(
            transfer_id, GRANTS, wallet_id(friend.id), amount, unit="credit", code="grant"
        )
    except Conflict:
        raise ApiProblem(409, "this Idempotency-Key was used for a different grant") from None
    audit.record_once(db, user.id, "credits.grant", transfer_id, to=friend.id, millicredits=amount)
    db.commit()
    return TransferOut(
        transfer_id=transfer_id,
        status=result.status,
        amount_credits=to_credits(amount),
        to_email=friend.email,
        balance_credits=to_credits(state.ledger.balance(wallet_id(friend.id)).net),
    )
