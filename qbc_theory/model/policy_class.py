r"""The finite policy class ``Pi`` (and model class ``M``): one definition, counted in logs.

``qbc simulate``'s finite learner enumerates the class and ``qbc check`` evaluates the bounds of
Theorems 2, 3 and 7 at its size; both take the size from :func:`policy_class_size`, so the two
commands always print the same ``|Pi|``.

The class (Cao & Xie 2026, Appendix A: a finite, realizable class) is a lattice of gains around the
expert's own gain ``K`` (``du x dx``, ``p = du dx`` free entries),

.. math::

    \Pi = \{\, q\#\pi_{K'} : K' = K + \mathrm{step}\, O,\; O \in \{-r, \dots, r\}^{du \times dx} \,\}
    \;(\times\ \text{5 noise scales for a Gaussian expert}),\qquad
    \log|\Pi| = p \log(2r + 1) + \log s ,

with the radius ``r`` the largest of ``3, 2, 1`` whose lattice has at most ``max_candidates``
candidates. When even ``r = 1`` is larger (``3^p > max_candidates``) the class is still defined
(``r = 1``) and counted, but it cannot be enumerated: the finite learner refuses it and the checker
says so. For the arctan expert of Theorem 6 the lattice is over the single gain ``g`` of
``q(arctan(g x))``; for a tanh expert over its gain, times 5 saturation levels; for an MLP (or a
deterministic callable) expert over a factor and an offset per action of the output layer
(:func:`class_layout`; the engine's :mod:`qbc_theory.engine.policy_classes` builds these classes with
the same layout).

Counts are carried as natural logarithms from the start: ``3^1000`` does not fit in a float, its
log does. :attr:`ClassSize.size` is the exact integer, :attr:`ClassSize.size_float` is ``None``
when it exceeds the float range.

References
----------
Cao & Xie 2026, Appendix A (finite-class MLE: ``log |Pi|`` is the complexity) and Theorem 7
(the model class ``M``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import AssumptionError, DimensionError
from .validation import as_int, as_real, describe

__all__ = [
    "GRID_STEP",
    "MAX_CANDIDATES",
    "RADII",
    "NOISE_SCALES",
    "MODEL_PER_ENTRY",
    "ClassSize",
    "lattice_radius",
    "class_layout",
    "SATURATION_LEVELS",
    "policy_class_size",
    "class_size_from_log",
    "class_size_from_count",
    "model_class_size",
]

GRID_STEP = 0.05
"""Lattice spacing of the gain entries."""

MAX_CANDIDATES = 10_000
"""Largest class the finite learner enumerates."""

RADII = (3, 2, 1)
"""Radii tried, largest first."""

NOISE_SCALES = 1.0 + 0.1 * np.arange(-2, 3)
"""Relative noise scales of a Gaussian expert's candidates: ``sigma (1 + 0.1 {-2, ..., 2})``."""

MODEL_PER_ENTRY = 5
"""Candidates per entry of ``[A B]`` in the model class of Theorem 7 (a radius-2 lattice)."""

_LOG_FLOAT_MAX = math.log(np.finfo(float).max)


@dataclass(frozen=True)
class ClassSize:
    r"""The size of a finite class, as a log.

    Attributes
    ----------
    log_size : float
        ``log |Pi|`` in nats.
    description : str
        One phrase: what the class is (``"7^2 lattice of gains (radius 3, step 0.05)"``).
    source : str
        ``"default"`` (the lattice of this module) or ``"given"`` (a user's ``|Pi|`` or ``log |Pi|``).
    entries, radius, scales : int or None
        Lattice entries ``p``, radius ``r`` and number of noise scales (``None`` for a given size).
    step : float or None
        Lattice spacing.
    enumerable : bool
        Whether the finite learner can enumerate it (at most ``max_candidates``).
    max_candidates : int or None

    References
    ----------
    Cao & Xie 2026, Appendix A.
    """

    log_size: float
    description: str
    source: str = "default"
    entries: int | None = None
    radius: int | None = None
    scales: int | None = None
    step: float | None = None
    enumerable: bool = True
    max_candidates: int | None = None
    exact: int | None = None

    @property
    def size(self) -> int | None:
        """The exact count when known (a Python int, possibly with hundreds of digits)."""
        return self.exact

    @property
    def size_float(self) -> float | None:
        """``|Pi|`` as a float, or ``None`` when it exceeds the float range (use :attr:`log_size`)."""
        if self.log_size > _LOG_FLOAT_MAX:
            return None
        if self.exact is not None:
            return float(self.exact)
        return math.exp(self.log_size)

    @property
    def log10_size(self) -> float:
        """``log10 |Pi|``."""
        return self.log_size / math.log(10.0)

    def format(self, symbol: str = "|Pi|") -> str:
        """``"log|Pi| = 3.892 nats (|Pi| = 49)"``, or with ``|Pi| ~ 10^477`` when it is huge."""
        inner = symbol.strip("|")
        if self.exact is not None and self.log_size < math.log(1e15):
            count = f"{symbol} = {self.exact}"
        elif self.log_size < math.log(1e15):
            count = f"{symbol} = {math.exp(self.log_size):.6g}"
        else:
            count = f"{symbol} ~ 10^{self.log10_size:.1f}"
        return f"log|{inner}| = {self.log_size:.4g} nats ({count})"

    def to_dict(self) -> dict:
        """JSON-ready: ``size`` (a float, or ``None`` beyond the float range) beside ``log_size``."""
        return {"size": self.size_float, "log_size": self.log_size, "log10_size": self.log10_size,
                "description": self.description, "source": self.source, "entries": self.entries,
                "radius": self.radius, "scales": self.scales, "step": self.step, "enumerable": self.enumerable,
                "max_candidates": self.max_candidates}


def _fits(per_entry: int, entries: int, cap: int) -> bool:
    """``per_entry ** entries <= cap``, decided from logs first (never builds a huge integer)."""
    if entries * math.log(per_entry) > math.log(cap) + 1.0:
        return False
    return per_entry**entries <= cap


def lattice_radius(entries: int, max_candidates: int = MAX_CANDIDATES) -> int | None:
    r"""The largest radius ``r`` in :data:`RADII` with ``(2r + 1)^entries <= max_candidates``.

    .. math::

        r = \max\{ r \in \{3, 2, 1\} : (2r+1)^p \le \mathrm{max\_candidates} \}.

    Parameters
    ----------
    entries : int
        ``p``, the free entries of the gain.
    max_candidates : int

    Returns
    -------
    int or None
        ``None`` when even ``r = 1`` gives more than ``max_candidates`` candidates.

    References
    ----------
    Cao & Xie 2026, Appendix A.
    """
    entries = as_int("entries", entries, minimum=1)
    max_candidates = as_int("max_candidates", max_candidates, minimum=1)
    return next((r for r in RADII if _fits(2 * r + 1, entries, max_candidates)), None)


SATURATION_LEVELS = 1.0 + 0.05 * np.arange(-2, 3)
"""Relative saturation levels of a tanh expert's candidates: ``s (1 + 0.05 {-2, ..., 2})``."""


def class_layout(expert) -> tuple[int, int, str, bool]:
    """How the finite class around ``expert`` is laid out.

    Returns
    -------
    entries : int
        ``p``, the lattice's free entries: the gain's entries (linear, tanh), the arctan gain ``g``,
        or ``2 du`` output factors and offsets (MLP, deterministic callable expert).
    per_point : int
        Candidates per lattice point: noise scales (Gaussian expert) times saturation levels (tanh).
    family : str
        What the lattice is over, for reports.
    capped_with_points : bool
        Whether ``max_candidates`` bounds the lattice times ``per_point`` (tanh, output classes) or
        the lattice alone (linear and arctan gains; the noise scales multiply it afterwards).

    Raises
    ------
    AssumptionError
        For an expert without a finite class here.
    """
    from .experts import ArctanExpert, CallableExpert, LinearExpert, MLPExpert, TanhExpert

    noise = 1 if expert.deterministic else len(NOISE_SCALES)
    if isinstance(expert, ArctanExpert):
        return 1, noise, "arctan gains g", False
    if isinstance(expert, LinearExpert):
        return int(expert.K.size), noise, "gains", False
    if isinstance(expert, TanhExpert):
        return int(expert.K.size), noise * len(SATURATION_LEVELS), \
            f"tanh gains K' x {len(SATURATION_LEVELS)} saturation levels", True
    if isinstance(expert, MLPExpert) or (isinstance(expert, CallableExpert) and expert.deterministic):
        return 2 * int(expert.du), noise, "output-layer factors and offsets", True
    raise AssumptionError(f"expert: the finite policy class is defined for linear, arctan, tanh, MLP and "
                          f"deterministic callable experts, found {describe(expert)}; give its size (Pi= or "
                          f"log_Pi=, --Pi-size or --log-Pi)")


def policy_class_size(expert, *, grid_radius=None, max_candidates=MAX_CANDIDATES,
                      grid_step=GRID_STEP) -> ClassSize:
    r"""``log |Pi|`` of the finite class ``qbc simulate`` learns over and ``qbc check`` counts.

    .. math::

        \log|\Pi| = p \log(2r + 1) + \log s,\qquad p = \text{lattice entries},\;
        s = \text{candidates per lattice point (noise scales, saturation levels)} .

    Parameters
    ----------
    expert : LinearExpert, ArctanExpert, TanhExpert, MLPExpert or a deterministic CallableExpert
        The layout is :func:`class_layout`'s (the classes of
        :mod:`qbc_theory.engine.policy_classes` for the nonlinear experts).
    grid_radius : int, optional
        Default :func:`lattice_radius` (``1`` when no radius fits ``max_candidates``; the class is
        then counted but not enumerable).
    max_candidates : int
        Default :data:`MAX_CANDIDATES`.
    grid_step : float
        Lattice spacing (recorded; the count does not depend on it).

    Returns
    -------
    ClassSize

    Raises
    ------
    AssumptionError
        For an expert without a finite class here.
    DimensionError
        On a bad radius, step or cap.

    References
    ----------
    Cao & Xie 2026, Appendix A (finite realizable class: ``q#pi* in Pi``).
    """
    p, per_point, what, capped_with_points = class_layout(expert)
    max_candidates = as_int("max_candidates", max_candidates, minimum=1)
    grid_step = as_real("grid_step", grid_step, positive=True)
    lattice_cap = max(1, max_candidates // per_point) if capped_with_points else max_candidates
    if grid_radius is None:
        radius = lattice_radius(p, lattice_cap)
        fitted = radius is not None
        radius = 1 if radius is None else radius
    else:
        radius = as_int("grid_radius", grid_radius, minimum=0)
        fitted = None
    scales = per_point
    per = 2 * radius + 1
    log_size = p * math.log(per) + math.log(scales)
    enumerable = fitted is not False and _fits(per, p, lattice_cap)
    description = (f"{per}^{p} lattice of {what} (radius {radius}, step {grid_step:g})"
                   + (f" x {scales} noise scales" if scales > 1 and not capped_with_points else ""))
    exact = per**p * scales if _fits(per, p, 10**300) else None
    return ClassSize(log_size=log_size, description=description, source="default", entries=p, radius=radius,
                     scales=scales, step=grid_step, enumerable=bool(enumerable), max_candidates=max_candidates,
                     exact=exact)


def class_size_from_log(log_size, description: str = "given") -> ClassSize:
    r"""A user's class size given as ``log |Pi|`` (nats).

    Parameters
    ----------
    log_size : float
        ``log |Pi| >= 0``.
    description : str

    Returns
    -------
    ClassSize

    Raises
    ------
    DimensionError
        If ``log_size`` is negative or not finite.
    """
    log_size = as_real("log_Pi", log_size, nonnegative=True)
    exact = None
    if log_size < math.log(2**53):
        rounded = round(math.exp(log_size))
        exact = rounded if math.isclose(math.log(rounded), log_size, rel_tol=0, abs_tol=1e-12) else None
    return ClassSize(log_size=log_size, description=description, source="given", enumerable=False, exact=exact)


def class_size_from_count(count, description: str = "given") -> ClassSize:
    r"""A user's class size given as a count ``|Pi| >= 1`` (an integer of any size).

    Raises
    ------
    DimensionError
        If ``count`` is not a positive integer.
    """
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
        if isinstance(count, float) and count.is_integer() and count >= 1:
            count = int(count)
        else:
            raise DimensionError(f"Pi: expected a positive integer count, found {describe(count)}")
    count = int(count)
    if count < 1:
        raise DimensionError(f"Pi: expected a positive integer count, found {count}")
    return ClassSize(log_size=_log_int(count), description=description, source="given", enumerable=False,
                     exact=count)


def _log_int(count: int) -> float:
    """``log(count)`` of a positive integer of any size."""
    bits = count.bit_length()
    if bits < 1000:
        return math.log(count)
    shift = bits - 64
    return math.log(count >> shift) + shift * math.log(2.0)


def model_class_size(dx: int, du: int, per_entry: int = MODEL_PER_ENTRY) -> ClassSize:
    r"""``log |M|`` of the finite model class of Theorem 7: a lattice over the entries of ``[A B]``.

    .. math::

        \log|\mathcal M| = d_x (d_x + d_u) \log(\text{per\_entry}).

    Parameters
    ----------
    dx, du : int
    per_entry : int
        Candidates per entry (default 5, a radius-2 lattice).

    Returns
    -------
    ClassSize

    References
    ----------
    Cao & Xie 2026, Theorem 7 (realizable model class ``T o rho in M``).
    """
    dx = as_int("dx", dx, minimum=1)
    du = as_int("du", du, minimum=1)
    per_entry = as_int("per_entry", per_entry, minimum=1)
    p = dx * (dx + du)
    exact = per_entry**p if _fits(per_entry, p, 10**300) else None
    return ClassSize(log_size=p * math.log(per_entry), description=f"{per_entry}^{p} lattice of [A B]",
                     source="default", entries=p, radius=(per_entry - 1) // 2, scales=1, enumerable=False,
                     exact=exact)
