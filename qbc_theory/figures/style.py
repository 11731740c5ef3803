r"""The paper style, reproducible saving and the manifest of the figures.

- :func:`paper_style`: the look of every figure (``paper.mplstyle``: single-column size, 8 pt fonts,
  TrueType fonts, the Okabe-Ito palette), applied inside a ``with`` block only;
- :data:`MARKERS`, :data:`LINESTYLES`, :func:`panel_label`, :func:`slope_text`: shared conventions;
- :func:`save_figure`: PDF and PNG without time stamps or tool versions, so saving the same figure
  again gives byte-identical files;
- :class:`ManifestEntry`, :func:`write_manifest`, :func:`code_version`: ``manifest.json``, with per
  figure the specs, the seeds, the code version and the numbers plotted (sorted keys, no time
  stamps).
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import logging
import math
import numbers
import os
import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import matplotlib.style  # binds mpl.style, which "import matplotlib" alone does not
import numpy as np
from matplotlib.figure import Figure

from ..model.errors import DimensionError
from ..model.validation import as_int, describe

__all__ = [
    "STYLE_FILE",
    "MARKERS",
    "LINESTYLES",
    "paper_style",
    "panel_label",
    "slope_text",
    "save_figure",
    "ManifestEntry",
    "code_version",
    "write_manifest",
]

STYLE_FILE = "paper.mplstyle"
"""Name of the style file shipped inside the package (package data)."""

MARKERS = ("o", "s", "^", "D", "v", "P", "X")
"""Marker of the i-th measured series (open markers: the facecolour is white)."""

LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 2)), (0, (6, 2)))
"""Line style of the i-th curve where curves may coincide."""


@contextlib.contextmanager
def paper_style() -> Iterator[None]:
    """Apply the paper style (``paper.mplstyle``) for the duration of a ``with`` block.

    Size 5.0 x 2.4 in (legends right of the axes), 8 pt fonts, constrained layout, 300 dpi PNGs, TrueType
    font embedding (no Type 3) and the Okabe-Ito colour-blind-safe palette. The global
    ``matplotlib.rcParams`` are restored on exit, also when the block raises.

    Yields
    ------
    None

    Examples
    --------
    >>> with paper_style():                                          # doctest: +SKIP
    ...     result = regret_vs_n_plot(data)
    ...     save_figure(result.figure, "regret_vs_n", "qbc-out/figs")
    """
    resource = importlib.resources.files("qbc_theory.figures").joinpath(STYLE_FILE)
    with importlib.resources.as_file(resource) as path, mpl.style.context(str(path)):
        yield


def _name(name: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise DimensionError(f"{name}: expected a non-empty string, found {describe(value)}")
    return value


def _tuple_of(name: str, value, cls) -> tuple:
    if isinstance(value, cls):
        value = (value,)
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise DimensionError(f"{name}: expected a sequence of {cls.__name__}, found {describe(value)}")
    items = tuple(value)
    for i, item in enumerate(items):
        if not isinstance(item, cls):
            raise DimensionError(f"{name}[{i}]: expected a {cls.__name__}, found {describe(item)}")
    return items


def panel_label(ax, index: int) -> None:
    """Write ``(a)``, ``(b)``, ... in bold above the top left corner of ``ax`` (its left title), outside the data.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    index : int
        0 for ``(a)``.
    """
    ax.set_title(f"({chr(ord('a') + index)})", loc="left", fontweight="bold", fontsize=mpl.rcParams["axes.labelsize"],
                 pad=3)


def _decimals(width: float) -> int:
    """Decimals down to the first significant digit of ``width`` rounded up (2 to 6)."""
    if not math.isfinite(width) or width <= 0:
        return 2
    return int(min(6, max(2, math.ceil(-math.log10(width)))))


def slope_text(slope: float, low: float, high: float) -> str:
    r"""A fitted slope with its interval, to the precision the interval supports.

    The number of decimals reaches the first significant digit of the interval's half-width (at
    least 2, at most 6), so a slope of ``1.006`` with interval ``[1.005, 1.007]`` is not printed as
    ``1.01 [1.01, 1.01]``, nor ``-0.001 [-0.003, 0.001]`` as ``-0.00 [-0.00, 0.00]``. Infinite ends print as :math:`\pm\infty`; a value that rounds to zero
    prints without a sign.

    Parameters
    ----------
    slope, low, high : float

    Returns
    -------
    str
        ``"<slope> [<low>, <high>]"``.

    Examples
    --------
    >>> slope_text(-1.0312, -1.1403, -0.9207)
    '-1.03 [-1.14, -0.92]'
    >>> slope_text(1.00612, 1.00494, 1.00741)
    '1.006 [1.005, 1.007]'
    >>> slope_text(-0.00123, -0.00311, 0.00072)
    '-0.001 [-0.003, 0.001]'
    """
    finite = [v for v in (low, high) if math.isfinite(v)]
    half = (max(finite) - min(finite)) / 2 if len(finite) == 2 else float("nan")
    places = _decimals(half)

    def fmt(v: float) -> str:
        if math.isinf(v):
            return r"$-\infty$" if v < 0 else r"$\infty$"
        text = f"{v:.{places}f}"
        return text.lstrip("-") if float(text) == 0.0 else text

    return f"{fmt(slope)} [{fmt(low)}, {fmt(high)}]"


_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# Without these fields the files carry no time stamp or tool version, so a rerun is byte-identical.
_PDF_METADATA = {"CreationDate": None, "Creator": None, "Producer": None}
_PNG_METADATA = {"Software": None}


def _stem(stem) -> str:
    if not isinstance(stem, str) or not _STEM.fullmatch(stem):
        raise DimensionError(f"stem: expected a file name stem of letters, digits, '_', '.', '-', "
                             f"found {describe(stem)}")
    return stem


class _DropHeadTimestampWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "timestamp seems very low" not in record.getMessage()


@contextlib.contextmanager
def _quiet_font_subsetter() -> Iterator[None]:
    """Silence fontTools' complaint about the bundled DejaVu fonts' zero time stamps while subsetting.

    The message is harmless (the stamps are read, not rewritten: saving stays byte-identical) but
    would be printed on every ``qbc figs`` run. Other fontTools messages still get through.
    """
    logger = logging.getLogger("fontTools.ttLib.tables._h_e_a_d")
    flt = _DropHeadTimestampWarning()
    logger.addFilter(flt)
    try:
        yield
    finally:
        logger.removeFilter(flt)


def save_figure(fig: Figure, stem: str, out_dir: str | os.PathLike) -> list[Path]:
    """Write ``fig`` as ``<out_dir>/<stem>.pdf`` and ``<out_dir>/<stem>.png``.

    Both files are written under the paper style's save settings (TrueType font embedding,
    300 dpi) and without time stamps or tool versions, so saving the same figure again gives
    byte-identical files. Each file is written to a temporary name and renamed into place.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    stem : str
        File name without extension (letters, digits, ``_``, ``.``, ``-``; no directories).
    out_dir : str or path-like
        Output directory, created if missing.

    Returns
    -------
    list of pathlib.Path
        The PDF and the PNG path, in that order.

    Raises
    ------
    DimensionError
        If ``fig`` is not a Figure or ``stem`` is not a plain file name stem.
    """
    if not isinstance(fig, Figure):
        raise DimensionError(f"fig: expected a matplotlib Figure, found {describe(fig)}")
    stem = _stem(stem)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with paper_style(), _quiet_font_subsetter():
        for ext, metadata in (("pdf", _PDF_METADATA), ("png", _PNG_METADATA)):
            path = out / f"{stem}.{ext}"
            tmp = out / f".{stem}.{ext}.tmp"
            fig.savefig(tmp, format=ext, metadata=metadata)
            os.replace(tmp, path)
            paths.append(path)
    return paths


@dataclass(frozen=True)
class ManifestEntry:
    """One figure's provenance for ``manifest.json``.

    Parameters
    ----------
    figure : str
        The figure's file stem (for example ``"fig1_regret_vs_n"``).
    spec : str
        Identifier of the experiment spec(s) the numbers come from (for example
        ``"experiments/rates_n.toml"`` or a spec hash).
    seeds : sequence of int
        Root seed entropy of the runs (non-negative integers; SeedSequence entropy may exceed 64 bits).
    data : object with ``to_dict()`` or a mapping
        The numbers plotted; normally the figure's data object.

    Raises
    ------
    DimensionError
        On an invalid stem, a negative or non-integer seed, or data that is not JSON-ready.
    """

    figure: str
    spec: str
    seeds: tuple[int, ...]
    data: object

    def __post_init__(self):
        _stem(self.figure)
        _name("ManifestEntry.spec", self.spec)
        if isinstance(self.seeds, (str, bytes)) or not isinstance(self.seeds, Sequence):
            raise DimensionError(f"ManifestEntry.seeds: expected a sequence of integers, found {describe(self.seeds)}")
        object.__setattr__(self, "seeds", tuple(as_int("ManifestEntry.seeds", s, minimum=0) for s in self.seeds))
        _jsonable("ManifestEntry.data", self.data)

    def to_dict(self) -> dict:
        """JSON-ready fields (without the code version, which :func:`write_manifest` adds)."""
        return {"spec": self.spec, "seeds": list(self.seeds), "data": _jsonable("data", self.data),
                "files": [f"{self.figure}.pdf", f"{self.figure}.png"]}


def _jsonable(name: str, value):
    """``value`` as plain JSON types: finite floats, ints, str, bool, None, lists and str-keyed dicts."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return _jsonable(name, value.to_dict())
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)):
        x = float(value)
        if not math.isfinite(x):
            raise DimensionError(f"{name}: expected finite numbers, found {x}")
        return x + 0.0  # folds -0.0 into 0.0
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise DimensionError(f"{name}: expected string keys, found {describe(k)}")
            out[k] = _jsonable(f"{name}[{k!r}]", v)
        return out
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(f"{name}[{i}]", v) for i, v in enumerate(value)]
    raise DimensionError(f"{name}: expected JSON-ready data, found {describe(value)}")


def _git(root: Path, *args: str) -> str | None:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10,
                              env=env, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def code_version(root: str | os.PathLike | None = None) -> dict:
    """The code version recorded in the manifest.

    Parameters
    ----------
    root : path-like, optional
        Directory expected to be the top of a git checkout holding this package; by default the
        parent of the installed ``qbc_theory`` directory.

    Returns
    -------
    dict
        ``{"qbc_theory": __version__}``, plus ``"git_commit"`` (the HEAD commit) and
        ``"git_dirty"`` (tracked files modified) when ``root`` is the top of a git checkout;
        without git, or for an installed copy outside a checkout, only the version.
    """
    from .. import __version__

    root = Path(__file__).resolve().parents[2] if root is None else Path(root).resolve()
    out: dict = {"qbc_theory": __version__}
    top = _git(root, "rev-parse", "--show-toplevel")
    # Only a checkout whose top is root counts: an installed copy inside some other repository does not.
    if top is None or Path(top.strip()).resolve() != root:
        return out
    commit = _git(root, "rev-parse", "--verify", "HEAD")
    if commit is None or not re.fullmatch(r"[0-9a-f]{40,64}", commit.strip()):
        return out
    out["git_commit"] = commit.strip()
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    if status is not None:
        out["git_dirty"] = bool(status.strip())
    return out


def write_manifest(entries: Sequence[ManifestEntry], out_dir: str | os.PathLike) -> Path:
    """Write ``<out_dir>/manifest.json``: per figure, the spec, seeds, code version and numbers plotted.

    The output is deterministic: keys sorted, figures keyed by stem whatever the order of
    ``entries``, floats written as their shortest round-trip repr, ``-0.0`` written as ``0.0``,
    no time stamps. The file is written to a temporary name and renamed into place.

    Parameters
    ----------
    entries : sequence of ManifestEntry
        One per figure, distinct ``figure`` stems.
    out_dir : str or path-like
        Output directory, created if missing.

    Returns
    -------
    pathlib.Path
        The manifest's path.

    Raises
    ------
    DimensionError
        If an entry is not a :class:`ManifestEntry` or two entries name the same figure.
    """
    entries = _tuple_of("entries", entries, ManifestEntry)
    version = code_version()
    figures = {}
    for e in entries:
        if e.figure in figures:
            raise DimensionError(f"entries: expected distinct figure stems, found {e.figure!r} twice")
        figures[e.figure] = {**e.to_dict(), "code_version": version}
    text = json.dumps({"figures": figures}, sort_keys=True, indent=2, allow_nan=False, ensure_ascii=True) + "\n"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "manifest.json"
    tmp = out / ".manifest.json.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
