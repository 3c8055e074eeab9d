from fractions import Fraction

import pytest

from app.k8s.quantity import QuantityError, format_quantity, parse_quantity


@pytest.mark.parametrize(
    "text,expected",
    [
        ("1", Fraction(1)),
        ("500m", Fraction(1, 2)),
        ("8Gi", Fraction(8 * 2**30)),
        ("1.5", Fraction(3, 2)),
        ("1e3", Fraction(1000)),
        ("3000m", Fraction(3)),
        ("0.1", Fraction(1, 10)),
        ("100m", Fraction(1, 10)),
        ("2k", Fraction(2000)),
        (4, Fraction(4)),
    ],
)
def test_parse(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1Gb", "1.2.3", " 1", True, None, "1 Gi"])
def test_invalid(text):
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_format():
    assert format_quantity(Fraction(1, 2)) == "500m"
    assert format_quantity(Fraction(3)) == "3"
