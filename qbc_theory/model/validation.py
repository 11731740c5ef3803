"""The shape and value checks used on the first line of every public entry point.

Each helper returns the coerced value or raises :class:`~qbc_theory.model.errors.DimensionError`
with a message of the form ``"<name>: expected <what>, found <what>"``.
"""

from __future__ import annotations

import numbers

import numpy as np

from .errors import DimensionError

__all__ = [
    "MAX_PARAMETER",
    "as_matrix",
    "as_vector",
    "as_real",
    "as_int",
    "describe",
    "reject_unknown_kwargs",
]


def describe(value) -> str:
    """A short description of ``value`` for error messages (type and shape, or the value)."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}"
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, numbers.Number):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) < 40 else f"a string of length {len(value)}"
    if isinstance(value, (list, tuple)):
        try:
            arr = np.asarray(value, dtype=float)
            return f"a {type(value).__name__} of shape {arr.shape}"
        except (TypeError, ValueError):
            return f"a ragged or non-numeric {type(value).__name__}"
    return type(value).__name__


MAX_PARAMETER = 1e100
"""Largest magnitude accepted in a model parameter (A, B, K, covariances): products of larger
numbers overflow double precision in rollouts and certificates."""


def _to_float_array(name: str, value) -> np.ndarray:
    if isinstance(value, (str, bytes)):
        raise DimensionError(f"{name}: expected numbers, found {describe(value)}")
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise DimensionError(f"{name}: expected an array of numbers, found {describe(value)}") from None
    if arr.dtype == object:
        raise DimensionError(f"{name}: expected an array of numbers, found {describe(value)}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = f" at index {tuple(int(i) for i in bad)}" if arr.ndim else ""
        raise DimensionError(f"{name}: expected finite numbers, found {arr[tuple(bad)]}{where}")
    return arr


def _check_magnitude(name: str, arr: np.ndarray, max_abs: float | None) -> None:
    if max_abs is not None and arr.size and np.abs(arr).max() > max_abs:
        raise DimensionError(f"{name}: expected entries of magnitude at most {max_abs:g} (larger values overflow "
                             f"products), found {np.abs(arr).max():g}")


def as_matrix(name: str, value, rows: int | None = None, cols: int | None = None,
              max_abs: float | None = None) -> np.ndarray:
    """Coerce ``value`` to a finite 2-D float array, checking its shape.

    Parameters
    ----------
    name : str
        The name used in the error message (an argument or a TOML key such as ``system.A``).
    value : array_like
        A nested list or array. A scalar is accepted as a 1 x 1 matrix.
    rows, cols : int, optional
        Required number of rows and columns.
    max_abs : float, optional
        Largest magnitude allowed in an entry (model parameters use :data:`MAX_PARAMETER`).

    Returns
    -------
    (rows, cols) ndarray of float

    Raises
    ------
    DimensionError
        If ``value`` is not numeric, not finite, not 2-D, or has the wrong shape.
    """
    arr = _to_float_array(name, value)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    if arr.ndim != 2:
        raise DimensionError(f"{name}: expected a matrix (2-D), found an array of shape {arr.shape}")
    want = (rows if rows is not None else arr.shape[0], cols if cols is not None else arr.shape[1])
    if arr.shape != want or arr.size == 0:
        shown = tuple("*" if w is None else w for w in (rows, cols))
        raise DimensionError(f"{name}: expected shape ({shown[0]}, {shown[1]}), found shape {arr.shape}")
    _check_magnitude(name, arr, max_abs)
    return arr


def as_vector(name: str, value, size: int | None = None) -> np.ndarray:
    """Coerce ``value`` to a finite 1-D float array (a scalar becomes length 1).

    Raises
    ------
    DimensionError
        If ``value`` is not numeric, not finite, not 1-D, or has the wrong length.
    """
    arr = _to_float_array(name, value)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise DimensionError(f"{name}: expected a vector (1-D), found an array of shape {arr.shape}")
    if size is not None and arr.shape[0] != size:
        raise DimensionError(f"{name}: expected length {size}, found length {arr.shape[0]}")
    return arr


def as_real(
    name: str,
    value,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """Coerce ``value`` to a finite Python float and check its sign or range.

    Raises
    ------
    DimensionError
        If ``value`` is not a real number (booleans and strings are refused), not finite, or
        outside the requested range.
    """
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        else:
            raise DimensionError(f"{name}: expected a real number, found {describe(value)}")
    x = float(value)
    if not np.isfinite(x):
        raise DimensionError(f"{name}: expected a finite number, found {x}")
    if positive and not x > 0:
        raise DimensionError(f"{name}: expected a positive number, found {x:g}")
    if nonnegative and not x >= 0:
        raise DimensionError(f"{name}: expected a non-negative number, found {x:g}")
    if low is not None and (x < low or (open_low and x == low)):
        bracket = "(" if open_low else "["
        raise DimensionError(f"{name}: expected a number in {bracket}{low:g}, ...), found {x:g}")
    if high is not None and (x > high or (open_high and x == high)):
        bracket = ")" if open_high else "]"
        raise DimensionError(f"{name}: expected a number in (..., {high:g}{bracket}, found {x:g}")
    return x


def as_int(name: str, value, *, minimum: int | None = None) -> int:
    """Coerce ``value`` to a Python int (floats with integral values are refused), checking a minimum.

    Raises
    ------
    DimensionError
        If ``value`` is not an integer or is below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise DimensionError(f"{name}: expected an integer, found {describe(value)}")
    i = int(value)
    if minimum is not None and i < minimum:
        word = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise DimensionError(f"{name}: expected {word}, found {i}")
    return i


def reject_unknown_kwargs(func_name: str, kwargs: dict) -> None:
    """Raise ``TypeError`` naming every unexpected keyword argument."""
    if kwargs:
        names = ", ".join(sorted(kwargs))
        raise TypeError(f"{func_name}() got unexpected keyword argument(s): {names}")
