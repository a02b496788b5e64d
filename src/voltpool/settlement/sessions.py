"""Settle a simulated policy's V2G sessions and V2V agreements in the credit ledger.

Every plug-in session of a car with a bidirectional charger opens a **pending** credit transfer
from the community pool to the car's household at plug-in, for the most the session could earn
(the charger's discharge limit over the whole stay, at the highest multiplier). At unplugging it
is **posted** with the metered energy's credits (slot by slot, :class:`CreditPolicy`), or
**voided** when the car gave nothing. Posting is followed, all or nothing, by the energy record
(Wh from the grid-energy account to the household's energy account) and the community fee.
Households that used the V2G energy pay the pool for it, each its share of the neighbourhood's
load in that slot, day by day, out of a starting grant; a household that cannot pay is recorded
as unpaid (its transfer is rejected by the ledger's no-overdraft rule, as it should be).

V2V agreements (:mod:`voltpool.simulate.sharing_desk`) are booked first, right after the
starting grants, as :mod:`voltpool.settlement.v2v` does it live: a pending transfer receiver ->
giver at acceptance, posted with the metered Wh or voided. V2H backup in an outage powers the
car's own home and earns no pool credits.

Energy is read by the one meter rule, :func:`voltpool.credits.kwh_to_wh` (whole Wh per car and
slot, rounded down, round-off below a milli-Wh forgiven).

Transfer ids are derived from the policy, the car and the slot, so settling again is a no-op
(every transfer returns "exists").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from voltpool.credits import MILLI, CreditPolicy, kwh_to_wh
from voltpool.ledger import Ledger, Operations, Rejected, VerifyReport
from voltpool.model.physics import true_runs
from voltpool.settlement.accounts import credit_account, energy_account
from voltpool.settlement.v2v import open_pending
from voltpool.settlement.v2v import settle as settle_v2v
from voltpool.sharing import Metered
from voltpool.simulate.result import PolicyRun, SimulationResult
from voltpool.simulate.world import World

POOL = "pool"
FEES = "fees"
GRID_ENERGY = "grid-energy"


@dataclass(frozen=True)
class SettlementContext:
    """What the ledger needs beyond the run: local hours, grid events, the car limits."""

    local_hour: np.ndarray
    grid_event: np.ndarray
    max_discharge_kw: np.ndarray


def _energy_account(home: str) -> str:
    """The household's V2G energy account (Wh given to the grid)."""
    return f"{home}.energy"


def _ensure_accounts(ledger: Ledger, homes: tuple[str, ...]) -> None:
    ledger.create_account(POOL, owner="community", kind="pool", unit="credit")
    ledger.create_account(FEES, owner="community", kind="fees", unit="credit")
    ledger.create_account(GRID_ENERGY, owner="grid", kind="grid", unit="energy")
    for home in homes:
        ledger.create_account(credit_account(home), owner=home, kind="owner", unit="credit")
        ledger.create_account(_energy_account(home), owner=home, kind="owner", unit="energy")


def settle_run(
    run: PolicyRun, context: SettlementContext, ledger: Ledger, policy: CreditPolicy
) -> pd.DataFrame:
    """Book every V2G session and every household's use of V2G energy; one row per household.

    Columns: ``earned`` (posted V2G credits), ``fees``, ``spent`` (paid to the pool for V2G
    energy used), ``unpaid`` (what a household could not pay), ``balance`` — milli-credits.
    """
    homes = run.home_ids
    prefix = run.policy
    _ensure_accounts(ledger, homes)
    grants = Operations()
    for home in homes:
        grants.transfer(
            transfer_id=f"{prefix}.grant.{home}",
            debit_account=POOL,
            credit_account=credit_account(home),
            amount=policy.starting_credits * MILLI,
            unit="credit",
            code="grant",
        )
    _booked(ledger.apply(grants))
    v2v_in, v2v_out = _settle_v2v(run, ledger, policy)
    # V2H backup in an outage powers the car's own home: it earns no pool credits.
    # Energy given to a friend's car is paid by the friend (V2V), not by the pool.
    to_grid_kw = np.where(run.car_islanded, 0.0, np.maximum(-run.power_kw, 0.0))
    to_grid_kw = np.maximum(to_grid_kw - run.v2v_given_slots_kw, 0.0)
    given_wh = kwh_to_wh(to_grid_kw * run.dt_h, "v2g_given_kwh")  # [N, T] Wh
    millicredits_per_mwh = np.array(
        [
            [
                policy.v2g_millicredits(1_000_000, int(h), bool(e))
                for h, e in zip(context.local_hour, context.grid_event, strict=True)
            ]
        ]
    )
    earned_slot = given_wh * millicredits_per_mwh // 1_000_000  # milli-credits per car and slot
    best = int(millicredits_per_mwh.max(initial=0))
    sessions = _session_operations(run, context, policy, given_wh, earned_slot, best)
    _booked(ledger.apply(sessions))
    unpaid = _charge_users(run, ledger, earned_slot.sum(axis=0), prefix)
    rows = []
    for h, home in enumerate(homes):
        account = credit_account(home)
        history = ledger.history(account, limit=10_000)
        earned = sum(
            t.amount
            for t in history
            if t.code == "v2g" and t.kind == "post" and t.credit_account == account
        )
        fees = sum(t.amount for t in history if t.code == "fee")
        spent = sum(t.amount for t in history if t.code == "use")
        rows.append(
            {
                "home_id": home,
                "earned": earned,
                "fees": fees,
                "spent": spent,
                "unpaid": int(unpaid[h]),
                "v2v_earned": v2v_in.get(home, 0),
                "v2v_paid": v2v_out.get(home, 0),
                "balance": ledger.balance(account).net,
            }
        )
    return pd.DataFrame(rows).set_index("home_id")


def _session_operations(
    run: PolicyRun,
    context: SettlementContext,
    policy: CreditPolicy,
    given_wh: np.ndarray,
    earned_slot: np.ndarray,
    best_millicredits_per_mwh: int,
) -> Operations:
    """Every plug-in session of a car that can discharge: the hold at plug-in (for the most the
    stay could earn), then its post with the legs (energy, fee) or its void."""
    homes, prefix = run.home_ids, run.policy
    operations = Operations()
    for car, start, end in true_runs(run.plugged):
        if context.max_discharge_kw[car] <= 0:
            continue
        home = homes[run.vehicle_home[car]]
        session = f"{prefix}.{run.vehicle_ids[car]}.{start}"
        most_wh = kwh_to_wh(float(context.max_discharge_kw[car] * (end - start) * run.dt_h))
        estimate = max(most_wh * best_millicredits_per_mwh // 1_000_000, 1)
        operations.transfer(
            transfer_id=f"{session}.hold",
            debit_account=POOL,
            credit_account=credit_account(home),
            amount=estimate,
            unit="credit",
            code="v2g",
            session=session,
            pending=True,
        )
        earned = int(earned_slot[car, start:end].sum())
        energy = int(given_wh[car, start:end].sum())
        if earned == 0:
            operations.void(f"{session}.void", f"{session}.hold")
            continue
        operations.post(f"{session}.post", f"{session}.hold", earned)
        legs = [
            dict(
                transfer_id=f"{session}.energy",
                debit_account=GRID_ENERGY,
                credit_account=_energy_account(home),
                amount=energy,
                unit="energy",
                code="v2g",
                session=session,
            )
        ]
        fee = policy.fee_millicredits(earned)
        if fee:
            legs.append(
                dict(
                    transfer_id=f"{session}.fee",
                    debit_account=credit_account(home),
                    credit_account=FEES,
                    amount=fee,
                    unit="credit",
                    code="fee",
                    session=session,
                )
            )
        operations.transfer_batch(legs)
    return operations


def _booked(results: list[object]) -> None:
    """Raise the first rejection of operations that must all go through."""
    for result in results:
        if isinstance(result, Rejected):
            raise result


def _settle_v2v(
    run: PolicyRun, ledger: Ledger, policy: CreditPolicy
) -> tuple[dict[str, int], dict[str, int]]:
    """Book the run's V2V agreements: pending at acceptance, posted with the metered Wh or
    voided (:mod:`voltpool.settlement.v2v`). Returns milli-credits earned and paid per home."""
    earned: dict[str, int] = {}
    paid: dict[str, int] = {}
    log = run.v2v
    if log is None or log.empty:
        return earned, paid
    for home in run.home_ids:
        ledger.create_account(
            energy_account(home), owner=home, kind="owner", unit="energy", allow_overdraft=True
        )
    matches = list(run.v2v_matches)
    accepted = [a.accepted for a in open_pending(ledger, matches)]
    metered = Metered.from_kwh(
        log["delivered_ac_kwh"].to_numpy()[accepted],
        log["giver_battery_kwh"].to_numpy()[accepted],
        log["receiver_battery_kwh"].to_numpy()[accepted],
    )
    chosen = [m for m, ok in zip(matches, accepted, strict=True) if ok]
    for settled in settle_v2v(ledger, chosen, metered, policy):
        match = settled.match
        earned[match.giver] = earned.get(match.giver, 0) + settled.millicredits
        paid[match.receiver] = paid.get(match.receiver, 0) + settled.millicredits
    return earned, paid


def _charge_users(
    run: PolicyRun, ledger: Ledger, pool_cost_slot: np.ndarray, prefix: str
) -> np.ndarray:
    """Each household pays the pool its load share of each slot's V2G credits, per day."""
    load = np.maximum(run.home_load_kw, 0.0)
    total = load.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, load / total, 0.0)
    owed = np.floor(share * pool_cost_slot[None, :]).astype(np.int64)  # [H, T] milli-credits
    slots_per_day = round(24 / run.dt_h)
    days = int(np.ceil(owed.shape[1] / slots_per_day))
    payments = Operations()
    owing: list[tuple[int, int]] = []  # (home, amount) of each payment
    for day in range(days):
        window = slice(day * slots_per_day, (day + 1) * slots_per_day)
        for h, home in enumerate(run.home_ids):
            amount = int(owed[h, window].sum())
            if amount <= 0:
                continue
            payments.transfer(
                transfer_id=f"{prefix}.use.{home}.{day}",
                debit_account=credit_account(home),
                credit_account=POOL,
                amount=amount,
                unit="credit",
                code="use",
            )
            owing.append((h, amount))
    unpaid = np.zeros(owed.shape[0], dtype=np.int64)
    for (h, amount), result in zip(owing, ledger.apply(payments), strict=True):
        if isinstance(result, Rejected):  # the no-overdraft rule: recorded, and unpaid
            unpaid[h] += amount
    return unpaid


def settlement_context(world: World) -> SettlementContext:
    """Local hours, grid-event slots and charger limits of a simulated world."""
    scenario = world.scenario
    window = slice(world.first_slot, world.end_slot)
    local = world.index[window].tz_convert(scenario.timezone)
    return SettlementContext(
        local_hour=np.asarray(local.hour),
        grid_event=world.import_limit_kw[window] < scenario.transformer.import_limit_kw,
        max_discharge_kw=world.max_discharge_kw,
    )


def settle_simulation(
    result: SimulationResult,
    world: World,
    folder: str | Path,
    policy: CreditPolicy | None = None,
) -> dict[str, tuple[pd.DataFrame, VerifyReport]]:
    """Settle every V2G policy of a simulation, one SQLite ledger per policy in ``folder``.

    Returns ``{policy: (per-household table, VerifyReport)}``.
    """
    policy = policy or CreditPolicy()
    context = settlement_context(world)
    settled: dict[str, tuple[pd.DataFrame, VerifyReport]] = {}
    for name, run in result.runs.items():
        if not (run.power_kw < 0).any() and (run.v2v is None or run.v2v.empty):
            continue
        ledger = Ledger.open(f"sqlite:///{Path(folder) / f'ledger-{name}.sqlite'}")
        try:
            table = settle_run(run, context, ledger, policy)
            settled[name] = (table, ledger.verify())
        finally:
            ledger.close()
    return settled
