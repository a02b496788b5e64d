"""Alembic migration environment of the ledger (run by ``voltpool.ledger._migrate``)."""
