"""Many independent ledger operations for one database transaction (:meth:`Ledger.apply`).

TigerBeetle's ``create_transfers`` takes a batch of transfers that succeed or fail each on its
own (unless linked) and answers one result per transfer: a caller with thousands of transfers
pays one round trip and one commit instead of one per transfer. :class:`Operations` is that
batch here: transfers, linked batches, posts and voids, each validated when it is added (an
invalid one raises ``InvalidInput`` naming ``operations[i].field``, and nothing is written).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voltpool.errors import FieldIssue
from voltpool.ledger._errors import InvalidInput
from voltpool.ledger._validate import (
    ResolveSpec,
    TransferSpec,
    batch_specs,
    resolve_spec,
    transfer_spec,
)

OPERATIONS_MAX = 100_000
"""The most operations one :meth:`Ledger.apply` runs (one transaction holds their locks)."""


@dataclass(frozen=True)
class Operation:
    """One operation of a batch: a linked group of transfers (one transfer: a plain
    ``transfer()``), or the post or void of a pending transfer."""

    transfers: tuple[TransferSpec, ...] = ()
    prefixes: tuple[str, ...] = ()
    resolve: ResolveSpec | None = None
    linked: bool = False


class Operations:
    """Ledger operations in the order they will be applied; each method takes the arguments of
    the :class:`~voltpool.ledger.Ledger` method of the same name and returns the operation's
    index (its result's place in :meth:`Ledger.apply`'s answer)."""

    def __init__(self) -> None:
        self.items: list[Operation] = []

    def __len__(self) -> int:
        return len(self.items)

    def transfer(self, **arguments: Any) -> int:
        """Add ``Ledger.transfer(**arguments)``."""
        spec = transfer_spec(arguments, prefix=self._prefix())
        return self._add(Operation((spec,), ("",)))

    def transfer_batch(self, specs: list[dict[str, Any]]) -> int:
        """Add ``Ledger.transfer_batch(specs)``: all of them or none."""
        try:
            valid = batch_specs(specs)
        except InvalidInput as error:
            raise self._named(error) from None
        prefixes = tuple(f"specs[{i}]." for i in range(len(valid)))
        return self._add(Operation(tuple(valid), prefixes, linked=True))

    def post(
        self,
        transfer_id: str,
        pending_id: str,
        amount: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> int:
        """Add ``Ledger.post(...)`` (of a pending transfer made earlier or earlier in here)."""
        return self._resolve("post", transfer_id, pending_id, amount, metadata)

    def void(
        self, transfer_id: str, pending_id: str, metadata: dict[str, Any] | None = None
    ) -> int:
        """Add ``Ledger.void(...)``."""
        return self._resolve("void", transfer_id, pending_id, None, metadata)

    def _resolve(
        self,
        action: str,
        transfer_id: str,
        pending_id: str,
        amount: int | None,
        metadata: dict[str, Any] | None,
    ) -> int:
        try:
            spec = resolve_spec(action, transfer_id, pending_id, amount, metadata)
        except InvalidInput as error:
            raise self._named(error) from None
        return self._add(Operation(resolve=spec))

    def _prefix(self) -> str:
        return f"operations[{len(self.items)}]."

    def _named(self, error: InvalidInput) -> InvalidInput:
        """``error`` with every field under this operation's name."""
        prefix = self._prefix()
        return InvalidInput(
            "", "", issues=[FieldIssue(prefix + i.field, i.rule) for i in error.issues]
        )

    def _add(self, operation: Operation) -> int:
        if len(self.items) >= OPERATIONS_MAX:
            raise InvalidInput("operations", f"must hold at most {OPERATIONS_MAX} operations")
        self.items.append(operation)
        return len(self.items) - 1
