"""Semi-empirical capacity-fade models of three lithium-ion cells, as in NREL BLAST-Lite 1.1.1.

Each cell turns the stressors of one simulation chunk (see :mod:`voltpool.battery.ageing`) into
two degradation rates and advances two states, the calendar loss ``qLoss_t`` (driven by time) and
the cycling loss ``qLoss_EFC`` (driven by equivalent full cycles, EFC). Relative capacity is
``q = 1 - qLoss_t - qLoss_EFC``. The equations and fitted parameters are those of BLAST-Lite
(Gasper, Smith et al., NREL, BSD-3-Clause, https://github.com/NREL/BLAST-Lite), rewritten in numpy
over vehicles; each cell's docstring names the paper(s) BLAST-Lite fitted it to.

Units: temperature in kelvin inside the rate laws (inputs are °C), time in days, charge
throughput in EFC (one EFC = a full nominal capacity charged and discharged), C-rates in 1/h,
SoC and depth of discharge (DOD) as fractions 0..1.

All three use BLAST-Lite's power-law state equation: the trajectory ``y = k * x**p`` is advanced
in rate form, ``dy = k * p * (y / k)**((p - 1) / p) * dx`` (``dy = k * dx**p`` from y = 0), so a
rate that changes between chunks continues the curve from the current state instead of
restarting it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np

if TYPE_CHECKING:
    from voltpool.battery.ageing import Chunk

GAS_CONSTANT_J_PER_MOL_K = 8.3144
"""As written in BLAST-Lite's DENSO model (rounded from 8.314462...)."""


def power_state_step(y0: np.ndarray, dx: np.ndarray, k: np.ndarray, p: float) -> np.ndarray:
    """Increment of a power-law state ``y = k * x**p`` over ``dx`` from state ``y0``.

    BLAST-Lite's ``_update_power_state``, elementwise: 0 where ``dx == 0``; ``k * dx**p`` where
    ``y0 == 0``; otherwise ``k * p * (y0 / k)**((p - 1) / p) * dx``.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        first = k * dx**p
        later = k * p * (y0 / k) ** ((p - 1.0) / p) * dx
    dy = np.where(y0 == 0, first, later)
    return np.where(dx == 0, 0.0, dy)


def anode_potential_v(soc: np.ndarray) -> np.ndarray:
    """Graphite anode potential vs Li/Li+ [V] from SoC [0..1], as in BLAST-Lite.

    Lithiation fraction ``x = 0.0085 + soc * (0.78 - 0.0085)`` (stoichiometry after Schimpe et
    al., J. Electrochem. Soc. 165 (2018) A181, doi:10.1149/2.1181714jes); potential from Safari
    and Delacourt, J. Electrochem. Soc. 158(5) (2011) A562, doi:10.1149/1.3567007.
    """
    x = 8.5e-3 + soc * (0.78 - 8.5e-3)
    return (
        0.6379
        + 0.5416 * np.exp(-305.5309 * x)
        + 0.044 * np.tanh(-(x - 0.1958) / 0.1088)
        - 0.1978 * np.tanh((x - 1.0571) / 0.0854)
        - 0.6875 * np.tanh((x + 0.0117) / 0.0529)
        - 0.0175 * np.tanh((x - 0.5692) / 0.0875)
    )


class Cell(Protocol):
    """What the ageing engine needs from a cell model."""

    name: ClassVar[str]
    chemistry: ClassVar[str]
    blast_class: ClassVar[str]
    label: ClassVar[str]
    capacity_ah: ClassVar[float]
    temperature_range_c: ClassVar[tuple[float, float]]
    """Cell temperatures the model was fitted on, BLAST-Lite's ``experimental_range
    ["cycling_temperature"]``; outside it the model extrapolates. [°C]"""

    def step(
        self, chunk: Chunk, loss_cal: np.ndarray, loss_cyc: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the increments (d loss_calendar, d loss_cycling) [fraction] over ``chunk``."""
        ...


@dataclass(frozen=True)
class Nmc622GrDenso50Ah:
    """NMC622-graphite 50 Ah automotive cell (DENSO); BLAST-Lite ``Nmc622_Gr_DENSO50Ah_Battery``.

    Model and parameters: K. Smith, P. Gasper, A. M. Colclasure, Y. Shimonishi, S. Yoshida,
    "Lithium-ion battery life model with electrode cracking and early-life break-in processes",
    J. Electrochem. Soc. 168 (2021) 100530, doi:10.1149/1945-7111/ac2ebd, as implemented in
    BLAST-Lite (which keeps only the square-root-of-time and square-root-of-EFC terms; the
    break-in terms are off).

    Per chunk, with mean cell temperature T [K], mean SoC s, DOD d and the mean charging C-rate
    ``Cchg`` [1/h] (all-chunk mean |C-rate| if the chunk has no charging), stress
    ``sigma = sqrt(d * Cchg)`` and ``A(Ea) = exp(-Ea/R * (1/T - 1/298.15))``:

    - ``b1t = A(37 kJ/mol) * (b0 + b1 s + b2 s^2 + b3 s^3 + b4 s T + b5 max(0, T - 328.15))``
    - ``b1N = max(0, 3.24 A(-58 kJ/mol) sigma (1 + 2.1 s) - 0.099) + 1.44 A(-13 kJ/mol) d^6``
    - ``qLoss_t = b1t * sqrt(t_days)``, ``qLoss_EFC = 0.985 * b1t * b1N * sqrt(EFC)``
      (power-law state steps; a cycling step above 0.01 is replaced by ``5e-4 * dEFC``, BLAST-Lite's
      guard against blow-ups early in life).

    Valid (BLAST-Lite's ``experimental_range``: cycling temperature 10-60 °C; calendar data
    10-60 °C, 10-100 % SoC) for DOD 0.1-1, up to 1C. No knee (lithium plating) is
    modelled. ``b1t`` turns negative below about 2 % mean SoC (a calendar *gain*, as in
    BLAST-Lite).
    """

    name: ClassVar[str] = "nmc622_gr_denso_50ah"
    chemistry: ClassVar[str] = "nmc"
    blast_class: ClassVar[str] = "Nmc622_Gr_DENSO50Ah_Battery"
    label: ClassVar[str] = "NMC622-Gr DENSO 50 Ah"
    capacity_ah: ClassVar[float] = 50.0
    temperature_range_c: ClassVar[tuple[float, float]] = (10.0, 60.0)

    b1t_ea: ClassVar[float] = 37000.0
    b1t: ClassVar[tuple[float, ...]] = (-0.000197, 0.0101, -0.0157, 0.00835, -4.06e-6, 3.32e-5)
    b1n_ea_1: ClassVar[float] = -58000.0
    b1n_0: ClassVar[float] = 3.24
    b1n_1: ClassVar[float] = 2.1
    b1n_2: ClassVar[float] = -0.099
    b1n_3: ClassVar[float] = 1.44
    b1n_ea_2: ClassVar[float] = -13000.0
    b1n_4: ClassVar[float] = 0.985

    @staticmethod
    def arrhenius(temperature_k: np.ndarray, ea_j_per_mol: float) -> np.ndarray:
        return np.exp(-(ea_j_per_mol / GAS_CONSTANT_J_PER_MOL_K) * (1 / temperature_k - 1 / 298.15))

    def step(self, chunk: Chunk, loss_cal: np.ndarray, loss_cyc: np.ndarray):
        t_k = chunk.mean(chunk.temperature_k)
        s = chunk.mean(chunk.soc)
        dod = chunk.dod
        cchg = chunk.charge_crate
        stress = np.sqrt(dod * np.where(cchg == 0, chunk.crate, cchg))
        b0, b1, b2, b3, b4, b5 = self.b1t
        b1t = self.arrhenius(t_k, self.b1t_ea) * (
            b0 + b1 * s + b2 * s**2 + b3 * s**3 + b4 * s * t_k + b5 * np.maximum(0.0, t_k - 328.15)
        )
        b1n = (
            np.maximum(
                0.0,
                self.b1n_0 * self.arrhenius(t_k, self.b1n_ea_1) * stress * (1 + self.b1n_1 * s)
                + self.b1n_2,
            )
            + self.b1n_3 * self.arrhenius(t_k, self.b1n_ea_2) * dod**6
        )
        d_cal = power_state_step(loss_cal, chunk.delta_days, b1t, 0.5)
        d_cyc = power_state_step(loss_cyc, chunk.delta_efc, b1t * b1n * self.b1n_4, 0.5)
        d_cyc = np.where(d_cyc > 1e-2, 5e-4 * chunk.delta_efc, d_cyc)
        return d_cal, d_cyc


@dataclass(frozen=True)
class LfpGr250AhPrismatic:
    """Large-format (>250 Ah) prismatic LFP-graphite cell; BLAST-Lite ``Lfp_Gr_250AhPrismatic``.

    Aging data: P. Gasper et al., J. Energy Storage (2023) 109042, doi:10.1016/j.est.2023.109042
    (the source BLAST-Lite cites); model fitted by BLAST-Lite's authors.

    Per chunk, with cell temperature T [K] and graphite potential Ua [V] (from SoC, see
    :func:`anode_potential_v`) at every sample, time-averaged (trapezoid) over the chunk:

    - ``k_cal = <8.37e4 exp(-5210/T) exp(-3560 Ua / T)>``,  ``qLoss_t = k_cal * t_days^0.526``
    - ``k_cyc = (4.38e-8 + 1.55e-8 d + 1.68e-7 C) <exp(2190/T) + exp(-1.55e5/T)>``,
      ``qLoss_EFC = k_cyc * EFC^0.828`` (d: DOD, C: mean |C-rate| [1/h] over the chunk)

    Valid (BLAST-Lite's ``experimental_range``) for cycling at 10-45 °C, charge up to 0.65C,
    discharge up to 1C; BLAST-Lite warns that the cycle-fade temperature dependence extrapolates
    poorly outside that range. No knee.
    """

    name: ClassVar[str] = "lfp_gr_250ah_prismatic"
    chemistry: ClassVar[str] = "lfp"
    blast_class: ClassVar[str] = "Lfp_Gr_250AhPrismatic"
    label: ClassVar[str] = "LFP-Gr 250 Ah prismatic"
    capacity_ah: ClassVar[float] = 250.0
    temperature_range_c: ClassVar[tuple[float, float]] = (10.0, 45.0)

    p1: ClassVar[float] = 8.37e4
    p2: ClassVar[float] = -5.21e3
    p3: ClassVar[float] = -3.56e3
    pcal: ClassVar[float] = 0.526
    p4: ClassVar[float] = 4.38e-8
    p5: ClassVar[float] = 1.55e-8
    p6: ClassVar[float] = 1.68e-7
    p7: ClassVar[float] = 2.19e3
    p8: ClassVar[float] = 1.55e5
    pcyc: ClassVar[float] = 0.828

    def step(self, chunk: Chunk, loss_cal: np.ndarray, loss_cyc: np.ndarray):
        t_k = chunk.temperature_k
        ua = anode_potential_v(chunk.soc)
        k_cal = chunk.time_average(
            abs(self.p1) * np.exp(self.p2 / t_k) * np.exp(self.p3 * ua / t_k)
        )
        k_cyc = (self.p4 + self.p5 * chunk.dod + self.p6 * chunk.crate) * chunk.time_average(
            np.exp(self.p7 / t_k) + np.exp(-self.p8 / t_k)
        )
        d_cal = power_state_step(loss_cal, chunk.delta_days, k_cal, self.pcal)
        d_cyc = power_state_step(loss_cyc, chunk.delta_efc, k_cyc, self.pcyc)
        return d_cal, d_cyc


@dataclass(frozen=True)
class NcaGrPanasonic3Ah:
    """Panasonic NCR18650B NCA-graphite 3.2 Ah cell; BLAST-Lite ``Nca_Gr_Panasonic3Ah_Battery``.

    Calendar-ageing data: P. Keil, S. F. Schuster, J. Wilhelm, J. Travi, A. Hauser, R. C. Karl,
    A. Jossen, "Calendar aging of lithium-ion batteries I. Impact of the graphite anode on
    capacity fade", J. Electrochem. Soc. 163(9) (2016) A1872, doi:10.1149/2.0411609jes. Cycling
    data: Y. Preger et al., "Degradation of commercial lithium-ion cells as a function of
    chemistry and cycling conditions", J. Electrochem. Soc. 167 (2020) 120532,
    doi:10.1149/1945-7111/abae37. Model fitted by BLAST-Lite's authors.

    Per chunk, with T [K] and SoC s at every sample, time-averaged (trapezoid) over the chunk:

    - ``k_cal = <75.4 exp(-3340/T) exp(353 s / T)>``,  ``qLoss_t = k_cal * t_days^0.512``
    - ``k_cyc = (1.86e-6 + 4.74e-11 C + 1.77e-4 d) <exp(3.34e-11/T) + exp(-2.81e-9/T)>``,
      ``qLoss_EFC = k_cyc * EFC^0.699`` (the temperature factor is ~2: BLAST-Lite's fit has no
      effective temperature dependence of cycling fade; DOD dependence is assumed linear)

    Valid (BLAST-Lite's ``experimental_range``) for cycling at 15-35 °C (its docstring: cycle
    ageing modelled at 25, 35 and 45 °C, calendar data at 25, 40 and 50 °C; predictions outside
    may be optimistic); no knee is predicted.
    """

    name: ClassVar[str] = "nca_gr_panasonic_3ah"
    chemistry: ClassVar[str] = "nca"
    blast_class: ClassVar[str] = "Nca_Gr_Panasonic3Ah_Battery"
    label: ClassVar[str] = "NCA-Gr Panasonic 18650B"
    capacity_ah: ClassVar[float] = 3.2
    temperature_range_c: ClassVar[tuple[float, float]] = (15.0, 35.0)

    qcal_a: ClassVar[float] = 75.4
    qcal_b: ClassVar[float] = -3.34e3
    qcal_c: ClassVar[float] = 353.0
    qcal_p: ClassVar[float] = 0.512
    qcyc_a: ClassVar[float] = 1.86e-6
    qcyc_b: ClassVar[float] = 4.74e-11
    qcyc_c: ClassVar[float] = 1.77e-4
    qcyc_d: ClassVar[float] = 3.34e-11
    qcyc_e: ClassVar[float] = 2.81e-9
    qcyc_p: ClassVar[float] = 0.699

    def step(self, chunk: Chunk, loss_cal: np.ndarray, loss_cyc: np.ndarray):
        t_k = chunk.temperature_k
        k_cal = chunk.time_average(
            self.qcal_a * np.exp(self.qcal_b / t_k) * np.exp(self.qcal_c * chunk.soc / t_k)
        )
        k_cyc = (
            self.qcyc_a + self.qcyc_b * chunk.crate + self.qcyc_c * chunk.dod
        ) * chunk.time_average(np.exp(self.qcyc_d / t_k) + np.exp(-self.qcyc_e / t_k))
        d_cal = power_state_step(loss_cal, chunk.delta_days, k_cal, self.qcal_p)
        d_cyc = power_state_step(loss_cyc, chunk.delta_efc, k_cyc, self.qcyc_p)
        return d_cal, d_cyc


CELLS: dict[str, Cell] = {
    cell.name: cell for cell in (Nmc622GrDenso50Ah(), LfpGr250AhPrismatic(), NcaGrPanasonic3Ah())
}
"""Cell models by name."""

CHEMISTRY_CELLS: dict[str, str] = {
    "nmc": Nmc622GrDenso50Ah.name,
    "lfp": LfpGr250AhPrismatic.name,
    "nca": NcaGrPanasonic3Ah.name,
}
"""The cell model that stands for each chemistry (cathode; all have graphite anodes)."""

EV_MODEL_CHEMISTRY: dict[str, str] = {
    "tesla model 3": "lfp",
    "tesla model y": "lfp",
    "kia niro": "nmc",
    "volkswagen id.3": "nmc",
    "skoda enyaq": "nmc",
    "hyundai kona": "nmc",
    "peugeot 208": "nmc",
    "volkswagen id.4": "nmc",
    "tesla model s": "nca",
    "tesla model x": "nca",
}
"""Assumed cathode chemistry per EV model name (lower case), for the shipped model list.

These are assumptions from manufacturers' public statements and trade-press teardowns, not
per-vehicle data; a model's chemistry changed over the years and by factory, so each entry is
the likeliest for a car of the listed capacity registered in the Netherlands around 2021-2024:

- Tesla Model 3 and Model Y at 57.5 kWh are the Standard Range / RWD versions. Tesla's Q3 2021
  update announced LFP cells for Standard Range cars globally; the European ones came from
  Shanghai with CATL LFP cells (Berlin-built Model Y RWD later with BYD LFP). Earlier US-built
  Standard Range Plus cars (2019-2020) had Panasonic NCA cells: "lfp" under-states their fade.
- Kia Niro (e-Niro / Niro EV, 64 kWh): SK Innovation NCM622 pouch cells (first generation),
  NCM cells also in the second. Hyundai Kona Electric (64 kWh): LG Energy Solution NCM622
  pouch cells (named in Hyundai's 2021 recall). -> "nmc".
- Volkswagen ID.3, ID.4 and Skoda Enyaq (MEB platform, 58 and 77 kWh): NCM pouch or prismatic
  cells (NCM712/NCM622) from LG Energy Solution, SK On, Samsung SDI and CATL. -> "nmc".
- Peugeot e-208 (50 kWh gross, 46.3 kWh usable): CATL NCM prismatic cells. -> "nmc".
- Tesla Model S and Model X (not in the shipped list): Panasonic 18650 NCA cells, the family of
  the NCR18650B that :class:`NcaGrPanasonic3Ah` models. -> "nca".

All NMC variants map to one cell model (NMC622, :class:`Nmc622GrDenso50Ah`); high-nickel NMC811
cells age differently and are not separated.
"""


def temperature_warning(cell: str, temperature_c: float) -> str | None:
    """A warning when ``temperature_c`` [°C] is outside the range ``cell`` was fitted on, else None.

    ``cell`` is a name in :data:`CELLS` or a chemistry key of :data:`CHEMISTRY_CELLS`. The range
    is the cell's ``temperature_range_c`` (BLAST-Lite's ``experimental_range``).
    """
    model = CELLS[CHEMISTRY_CELLS.get(cell.lower(), cell)]
    low, high = model.temperature_range_c
    if low <= temperature_c <= high:
        return None
    return (
        f"{model.label} ({model.chemistry}) ageing model: {temperature_c:g} °C is outside the "
        f"{low:g}-{high:g} °C it was fitted on (BLAST-Lite's experimental range); its fade and "
        f"wear costs there are extrapolations"
    )


def temperature_warnings(cells: Iterable[str], temperature_c: float) -> tuple[str, ...]:
    """:func:`temperature_warning` for each distinct cell or chemistry of ``cells``, in order."""
    found = (temperature_warning(c, temperature_c) for c in dict.fromkeys(map(str, cells)))
    return tuple(w for w in found if w is not None)


def _normalize_model(model: str) -> str:
    return " ".join(str(model).lower().split())


def chemistry_for_model(model: str, default: str | None = "nmc") -> str:
    """Chemistry key (``"nmc"``, ``"lfp"``, ``"nca"``) of an EV model name.

    The name is matched case- and whitespace-insensitively against :data:`EV_MODEL_CHEMISTRY`.
    An unknown model gets ``default`` (NMC, the commonest chemistry of the European EV fleet);
    with ``default=None`` it raises :class:`voltpool.errors.ProblemError`.
    """
    from voltpool.errors import FieldIssue, ProblemError

    found = EV_MODEL_CHEMISTRY.get(_normalize_model(model), default)
    if found is None:
        raise ProblemError([FieldIssue("model", f"no chemistry known for EV model {model!r}")])
    if found not in CHEMISTRY_CELLS:
        raise ProblemError(
            [FieldIssue("default", f"{found!r} is not one of {sorted(CHEMISTRY_CELLS)}")]
        )
    return found


def chemistry_for_models(models, default: str | None = "nmc") -> np.ndarray:
    """:func:`chemistry_for_model` over an array [N] of names; returns a string array [N]."""
    return np.array([chemistry_for_model(m, default) for m in models], dtype="<U3")
