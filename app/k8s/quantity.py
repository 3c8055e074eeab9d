"""Kubernetes resource quantities (`500m`, `8Gi`, `1e3`), parsed exactly.

Mirrors k8s.io/apimachinery/pkg/api/resource: a decimal number followed by a
binary suffix (Ki..Ei), a decimal suffix (n, u, m, k, M, G, T, P, E) or a
decimal exponent (e3, E-2). Values are exact Fractions, so `1500m` is not an
integer and `3000m` is.
"""

from __future__ import annotations

import functools
import math
import re
from fractions import Fraction

_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_EXPONENT = re.compile(r"^[eE]([+-]?[0-9]+)$")

QUANTITY_REGEX_MESSAGE = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)


class QuantityError(ValueError):
    """Not a valid Kubernetes quantity."""


def parse_quantity(value: object) -> Fraction:
    """Parse a quantity given as a YAML string, int or float."""
    if isinstance(value, bool):
        raise QuantityError(QUANTITY_REGEX_MESSAGE)
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        # JSON has no infinity or NaN: the API server never sees one, and its parser
        # rejects the spelling ("inf", "nan") with the regular-expression message.
        if not math.isfinite(value):
            raise QuantityError(QUANTITY_REGEX_MESSAGE)
        return Fraction(repr(value)) if "e" not in repr(value) else Fraction(value)
    if not isinstance(value, str):
        raise QuantityError(QUANTITY_REGEX_MESSAGE)
    return _parse_text(value)


@functools.lru_cache(maxsize=4096)
def _parse_text(value: str) -> Fraction:
    """A quantity written as a string (cached: an answer repeats the same few, and a
    5,000-container one would otherwise parse 20,000 of them; Fractions are immutable
    and a refusal raises, which is never cached)."""
    text = value.strip()
    match = _QUANTITY.match(text)
    if not match or text != value:
        raise QuantityError(QUANTITY_REGEX_MESSAGE)
    number, suffix = match.groups()
    base = Fraction(number)
    if suffix in _BINARY:
        return base * _BINARY[suffix]
    if suffix in _DECIMAL:
        return base * _DECIMAL[suffix]
    exponent = _EXPONENT.match(suffix)
    if exponent:
        power = int(exponent.group(1))
        if abs(power) > 60:
            raise QuantityError("quantity exponent out of range")
        return base * Fraction(10) ** power
    raise QuantityError(QUANTITY_REGEX_MESSAGE)


def is_quantity(value: object) -> bool:
    try:
        parse_quantity(value)
    except QuantityError:
        return False
    return True


def format_quantity(amount: Fraction) -> str:
    """A short canonical spelling: integers plainly, else in milli-units or a decimal."""
    if amount.denominator == 1:
        return str(amount.numerator)
    milli = amount * 1000
    if milli.denominator == 1:
        return f"{milli.numerator}m"
    return str(float(amount))
