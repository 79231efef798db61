"""What a sample proves: the size a bound needs and the exact binomial upper bound."""

import pytest

from harness.checks.sampling import Proof, sample_size, upper_bound


def test_one_percent_at_ninety_five_percent_needs_299_rows():
    assert sample_size(0.01, 0.95) == 299
    assert sample_size(0.05, 0.95) == 59


def test_zero_bad_rows_give_the_rule_of_three():
    assert upper_bound(0, 299, 0.95) == pytest.approx(0.00997, abs=1e-5)
    assert upper_bound(0, 3000, 0.95) == pytest.approx(3 / 3000, rel=0.01)


def test_the_bound_with_bad_rows_is_the_exact_clopper_pearson_limit():
    # scipy.stats.beta.ppf(0.95, 2, 99) = 0.0466 for 1 bad of 100 (one-sided 95 %).
    assert upper_bound(1, 100, 0.95) == pytest.approx(0.0466, abs=2e-4)
    assert upper_bound(5, 5, 0.95) == 1.0


def test_twenty_rows_prove_only_fewer_than_fourteen_percent():
    proof = Proof(sampled=20, bad=0, population=2000, confidence=0.95, required=0.01)
    assert not proof.within
    assert proof.sentence() == "0 of 20 sampled rows off: at 95% confidence fewer than 13.9% of the 2000 rows are off"


def test_a_sample_of_the_whole_population_proves_the_exact_fraction():
    proof = Proof(sampled=107, bad=0, population=107, confidence=0.95, required=0.01)
    assert proof.exhaustive and proof.bound == 0 and proof.within
    assert "every row checked: exactly 0.0%" in proof.sentence()
