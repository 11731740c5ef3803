"""One problem instance (system, expert, quantizer, reward, horizon) and its TOML loader.

The TOML format is the contract of docs/instance-format.md. Loading never evaluates text: values are
taken from the parsed TOML as numbers, strings and arrays, and checked key by key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .validation import as_int, as_real, describe
from .dynamics import PHI, LinearSystem, LureSystem, pendulum
from .errors import AssumptionError, DimensionError, QbcError, SpecError
from .experts import MLP_ACTIVATIONS, ArctanExpert, LinearExpert, MLPExpert, TanhExpert, lqr_gain
from .quantizers import DCTBinning, KMeansQuantizer, ResidualVQ, TrapLoopQuantizer, UniformBinning
from .rewards import RegulationReward, StateReward, TrackingReward

__all__ = ["Instance", "load_instance", "instance_from_dict", "expert_actions", "MAX_HORIZON",
           "MAX_TRAJECTORIES"]

MAX_HORIZON = 100_000
"""Largest horizon an instance may have."""

MAX_TRAJECTORIES = 10_000_000
"""Largest number of expert trajectories an instance may ask for."""


@dataclass(frozen=True, eq=False)
class Instance:
    """Everything that defines one behavior-cloning problem.

    Parameters
    ----------
    system : LinearSystem, LureSystem or CallableSystem
    expert : LinearExpert, ArctanExpert, TanhExpert, MLPExpert or CallableExpert
    quantizer : a quantizer of :mod:`qbc_theory.model.quantizers` (fitted, for learned ones)
    reward : TrackingReward, RegulationReward or StateReward
    horizon : int
        ``H >= 1``.
    n : int
        Number of expert trajectories in the data set, ``n >= 1``.
    delta : float
        Confidence parameter in (0, 1).
    seed : int
        Root seed of anything random done for this instance (fitting a learned quantizer, ...).
    name : str
        A label (the file stem when loaded from TOML).

    Raises
    ------
    DimensionError
        If the parts do not fit together (expert gain vs system, quantizer dimension vs ``du``).
    """

    system: LinearSystem
    expert: object
    quantizer: object
    reward: object
    horizon: int
    n: int = 100
    delta: float = 0.05
    seed: int = 0
    name: str = "instance"

    def __post_init__(self):
        object.__setattr__(self, "horizon", as_int("horizon", self.horizon, minimum=1))
        object.__setattr__(self, "n", as_int("n", self.n, minimum=1))
        # every consumer loops over the horizon in Python and holds trajectories x steps in memory
        for name, value, cap in (("horizon", self.horizon, MAX_HORIZON), ("n", self.n, MAX_TRAJECTORIES)):
            if value > cap:
                raise DimensionError(f"{name}: expected at most {cap}, found {value}")
        object.__setattr__(self, "delta", as_real("delta", self.delta, low=0, high=1, open_low=True,
                                                  open_high=True))
        object.__setattr__(self, "seed", as_int("seed", self.seed, minimum=0))
        self.expert.check_system(self.system)
        q = self.quantizer
        if q.dim != self.system.du:
            raise DimensionError(f"quantizer: expected action dimension {self.system.du}, found {q.dim}")
        check_reward = getattr(self.reward, "check_system", None)
        if callable(check_reward):
            check_reward(self.system)
        if isinstance(q, TrapLoopQuantizer):
            if not isinstance(self.system, LinearSystem):
                raise DimensionError(f"quantizer: the trap quantizer needs a linear system, found a "
                                     f"{self.system.kind} one")
            a, b = float(self.system.A[0, 0]), float(self.system.B[0, 0])
            if (a, b) != (q.A, q.B):
                raise DimensionError(f"quantizer: the trap quantizer was built for A={q.A:g}, B={q.B:g} but "
                                     f"the system has A={a:g}, B={b:g}")

    def to_dict(self) -> dict:
        """A JSON-ready description of the instance."""
        return {"name": self.name, "system": self.system.to_dict(), "expert": self.expert.to_dict(),
                "quantizer": self.quantizer.to_dict(), "reward": self.reward.to_dict(),
                "horizon": self.horizon, "n": self.n, "delta": self.delta, "seed": self.seed}


def expert_actions(system, expert, horizon: int, trajectories: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Raw expert actions from ``trajectories`` noisy rollouts, shape ``(horizon * trajectories, du)``.

    Used to fit learned quantizers on the expert's own action distribution.
    """
    x = system.sample_x0(rng, trajectories)
    w = system.sample_noise(rng, horizon, trajectories)
    z = rng.standard_normal((horizon, trajectories, system.du))
    out = np.empty((horizon, trajectories, system.du))
    for h in range(horizon):
        out[h] = expert.act(x, z[h])
        x = system.step(x, out[h], w[h])
    return out.reshape(-1, system.du)


# --- TOML loading -------------------------------------------------------------------------------

_SECTIONS = {"system", "expert", "quantizer", "reward", "run"}
_TOP_KEYS = {"name", "description"}


def _keys(section: str, table: dict, allowed: set[str], required: tuple[str, ...] = ()) -> None:
    if not isinstance(table, dict):
        raise SpecError(f"{section}: expected a table [{section}], found {describe(table)}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise SpecError(f"{section}.{unknown[0]}: unknown key; expected one of {', '.join(sorted(allowed))}")
    for key in required:
        if key not in table:
            raise SpecError(f"{section}.{key}: expected a value (required key), found none")


def _prefixed(section: str, exc: QbcError) -> QbcError:
    return type(exc)(f"{section}.{exc}")


_NOISE_KEYS = {"noise_std", "noise_cov", "x0_std", "x0_cov", "x0_mean"}


def _system(t: dict):
    if not isinstance(t, dict):
        raise SpecError(f"system: expected a table [system], found {describe(t)}")
    kind = _kind("system", t, ("linear", "lure", "pendulum"), default="linear")
    noise = {k: t[k] for k in _NOISE_KEYS if k in t}
    if kind == "pendulum":
        _keys("system", t, {"kind", "dt", "g_over_l", "damping", "gain"} | _NOISE_KEYS,
              ("dt", "g_over_l", "damping", "gain"))
        try:
            return pendulum(t["dt"], t["g_over_l"], t["damping"], t["gain"], **noise)
        except QbcError as exc:
            raise _prefixed("system", exc) from None
    if kind == "lure":
        _keys("system", t, {"kind", "A", "B", "G", "C", "phi", "dt"} | _NOISE_KEYS, ("A", "B", "G", "C", "phi"))
        if not isinstance(t["phi"], str) or t["phi"] not in PHI:
            raise SpecError(f"system.phi: expected one of {', '.join(PHI)}, found {describe(t['phi'])}")
    else:
        _keys("system", t, {"kind", "A", "B", "dt"} | _NOISE_KEYS, ("A", "B"))
    if "dt" in t:
        dt = t["dt"]
        if isinstance(dt, bool):
            ok = dt
        elif isinstance(dt, (int, float)):
            ok = dt > 0
        else:
            raise SpecError(f"system.dt: expected true or a positive sampling time, found {describe(dt)}")
        if not ok:
            raise SpecError(f"system.dt: expected a discrete-time system (true or dt > 0), found {dt!r} "
                            "(continuous time); discretise the system first")
    try:
        if kind == "lure":
            return LureSystem(t["A"], t["B"], t["G"], t["C"], t["phi"], **noise)
        return LinearSystem(t["A"], t["B"], **noise)
    except QbcError as exc:
        raise _prefixed("system", exc) from None


def _kind(section: str, t: dict, kinds: tuple[str, ...], default: str | None = None) -> str:
    kind = t.get("kind", default)
    if kind is None:
        raise SpecError(f"{section}.kind: expected one of {', '.join(kinds)} (required key), found none")
    if kind not in kinds:
        raise SpecError(f"{section}.kind: expected one of {', '.join(kinds)}, found {describe(kind)}")
    return kind


def _expert(t: dict, system, base_dir: Path | None):
    if not isinstance(t, dict):
        raise SpecError(f"expert: expected a table [expert], found {describe(t)}")
    kind = _kind("expert", t, ("linear", "lqr", "arctan", "tanh", "mlp"))
    if kind == "lqr" and not isinstance(system, LinearSystem):
        raise SpecError(f"expert.kind: 'lqr' needs a linear system, found system.kind {system.kind!r}; give the "
                        "gain with kind = 'linear' or 'tanh'")
    if kind == "mlp":
        _keys("expert", t, {"kind", "weights", "activation", "noise_std"}, ("weights",))
        path = t["weights"]
        if not isinstance(path, str) or not path:
            raise SpecError(f"expert.weights: expected the path of an .npz file, found {describe(path)}")
        activation = t.get("activation", "tanh")
        if activation not in MLP_ACTIVATIONS:
            raise SpecError(f"expert.activation: expected one of {', '.join(MLP_ACTIVATIONS)}, found "
                            f"{describe(activation)}")
        full = Path(path) if base_dir is None else Path(base_dir) / path
        try:
            expert = MLPExpert.from_npz(full, activation=activation, noise_std=t.get("noise_std", 0.0))
        except SpecError as exc:
            raise SpecError(f"expert.weights: {exc}") from None
        except DimensionError as exc:
            raise _prefixed("expert", exc) from None
        try:
            expert.check_system(system)
        except DimensionError as exc:
            raise _prefixed("expert", exc) from None
        return expert
    try:
        if kind == "linear":
            _keys("expert", t, {"kind", "K", "noise_std"}, ("K",))
            expert = LinearExpert(t["K"], noise_std=t.get("noise_std", 0.0))
        elif kind == "lqr":
            _keys("expert", t, {"kind", "Q", "R", "noise_std"}, ("Q", "R"))
            expert = LinearExpert(lqr_gain(system, t["Q"], t["R"]), noise_std=t.get("noise_std", 0.0))
        elif kind == "tanh":
            _keys("expert", t, {"kind", "K", "scale", "noise_std"}, ("K",))
            expert = TanhExpert(t["K"], scale=t.get("scale", 1.0), noise_std=t.get("noise_std", 0.0))
        else:
            _keys("expert", t, {"kind"})
            expert = ArctanExpert()
        expert.check_system(system)
    except (DimensionError, AssumptionError) as exc:
        raise _prefixed("expert", exc) from None
    return expert


def _quantizer(t: dict, system, expert, horizon: int, seed: int):
    if not isinstance(t, dict):
        raise SpecError(f"quantizer: expected a table [quantizer], found {describe(t)}")
    kind = _kind("quantizer", t, ("binning", "kmeans", "rvq", "dct", "trap"))
    try:
        if kind == "binning":
            _keys("quantizer", t, {"kind", "low", "high", "bins", "decode"}, ("low", "high", "bins"))
            return UniformBinning(t["low"], t["high"], t["bins"], decode=t.get("decode", "center"),
                                  dim=system.du if np.ndim(t["low"]) == 0 and np.ndim(t["high"]) == 0 else None)
        if kind == "dct":
            _keys("quantizer", t, {"kind", "scale", "chunk"}, ("scale",))
            return DCTBinning(t["scale"], chunk=t.get("chunk", 1), dim=system.du)
        if kind == "trap":
            _keys("quantizer", t, {"kind", "k", "d", "eps", "variant", "c_delta"}, ("k", "eps"))
            if not isinstance(system, LinearSystem):
                raise SpecError(f"quantizer.kind: 'trap' needs a linear system, found system.kind {system.kind!r}")
            if (system.dx, system.du) != (1, 1):
                raise SpecError(f"quantizer.kind: 'trap' needs a scalar system, found dx={system.dx}, "
                                f"du={system.du}")
            if not isinstance(expert, ArctanExpert):
                raise SpecError("quantizer.kind: 'trap' is Theorem 6's quantizer of the arctan expert's actions, "
                                f"found expert.kind {expert.to_dict()['kind']!r}; use expert.kind = 'arctan'")
            return TrapLoopQuantizer(float(system.A[0, 0]), float(system.B[0, 0]), t["k"], t["eps"],
                                     d=t.get("d"), variant=t.get("variant", "deterministic"),
                                     c_delta=t.get("c_delta", 0.5))
        allowed = {"kind", "n_codes", "seed", "fit_trajectories"} | ({"stages"} if kind == "rvq" else set())
        _keys("quantizer", t, allowed, ("n_codes", "stages") if kind == "rvq" else ("n_codes",))
        fit_n = as_int("fit_trajectories", t.get("fit_trajectories", 200), minimum=1)
        qseed = as_int("seed", t.get("seed", seed), minimum=0)
        codes = as_int("n_codes", t["n_codes"], minimum=1)
        if codes > fit_n * horizon:
            raise DimensionError(f"n_codes: expected at most fit_trajectories * horizon = {fit_n * horizon} "
                                 f"(the expert actions it is fitted on), found {codes}")
        q = (KMeansQuantizer(t["n_codes"], seed=qseed) if kind == "kmeans"
             else ResidualVQ(t["stages"], t["n_codes"], seed=qseed))
        rng = np.random.default_rng(np.random.SeedSequence(qseed))
        return q.fit(expert_actions(system, expert, horizon, fit_n, rng))
    except (DimensionError, AssumptionError) as exc:
        raise _prefixed("quantizer", exc) from None


def _reward(t: dict, expert, system):
    if not isinstance(t, dict):
        raise SpecError(f"reward: expected a table [reward], found {describe(t)}")
    kind = _kind("reward", t, ("tracking", "regulation", "state"), default="tracking")
    if kind == "state":
        _keys("reward", t, {"kind", "weights", "offset"}, ("weights",))
        try:
            reward = StateReward(t["weights"], t.get("offset", 0.0))
            reward.check_system(system)
        except DimensionError as exc:
            raise _prefixed("reward", exc) from None
        return reward
    _keys("reward", t, {"kind", "scale"})
    try:
        scale = t.get("scale", 1.0)
        return TrackingReward(expert, scale) if kind == "tracking" else RegulationReward(scale)
    except DimensionError as exc:
        raise _prefixed("reward", exc) from None


def instance_from_dict(doc: dict, name: str = "instance", base_dir=None) -> Instance:
    """Build an :class:`Instance` from a parsed TOML document (a dict of tables).

    ``base_dir`` is the directory relative file names (``expert.weights``) are resolved against:
    the TOML file's directory when loading a file, the working directory when None.

    Raises
    ------
    SpecError, DimensionError, AssumptionError
        With a message naming the offending key (``section.key``), what was expected and what
        was found.
    """
    if not isinstance(doc, dict):
        raise SpecError(f"instance: expected a table of sections, found {describe(doc)}")
    unknown = sorted(set(doc) - _SECTIONS - _TOP_KEYS)
    if unknown:
        raise SpecError(f"{unknown[0]}: unknown section; expected {', '.join(sorted(_SECTIONS))}")

    def section(name: str) -> dict:
        if name not in doc:
            raise SpecError(f"{name}: expected a section [{name}] (required), found none")
        return doc[name]

    system = _system(section("system"))
    expert = _expert(section("expert"), system, None if base_dir is None else Path(base_dir))
    run = section("run")
    _keys("run", run, {"horizon", "n", "delta", "seed"}, ("horizon",))
    try:
        horizon = as_int("horizon", run["horizon"], minimum=1)
        n = as_int("n", run.get("n", 100), minimum=1)
        for key, value, cap in (("horizon", horizon, MAX_HORIZON), ("n", n, MAX_TRAJECTORIES)):
            if value > cap:
                raise DimensionError(f"{key}: expected at most {cap}, found {value}")
        delta = as_real("delta", run.get("delta", 0.05), low=0, high=1, open_low=True, open_high=True)
        seed = as_int("seed", run.get("seed", 0), minimum=0)
    except DimensionError as exc:
        raise _prefixed("run", exc) from None
    quantizer = _quantizer(section("quantizer"), system, expert, horizon, seed)
    reward = _reward(doc.get("reward", {}), expert, system)
    label = doc.get("name", name)
    if not isinstance(label, str):
        raise SpecError(f"name: expected a string, found {describe(label)}")
    try:
        return Instance(system, expert, quantizer, reward, horizon, n=n, delta=delta, seed=seed, name=label)
    except (DimensionError, AssumptionError) as exc:
        raise SpecError(f"instance: {exc}") from None


def load_instance(path) -> Instance:
    """Load an :class:`Instance` from a TOML file in the format of docs/instance-format.md.

    Parameters
    ----------
    path : str or pathlib.Path

    Raises
    ------
    SpecError
        If the file cannot be read or parsed, or a key is unknown, missing or invalid (the
        message names the key). Nothing in the file is ever evaluated as code.
    """
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as exc:
        raise SpecError(f"{p}: cannot read the instance file ({exc.strerror or exc})") from None
    try:
        doc = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise SpecError(f"{p}: expected a UTF-8 TOML file, found undecodable bytes") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{p}: invalid TOML ({exc})") from None
    return instance_from_dict(doc, name=p.stem, base_dir=p.parent)
