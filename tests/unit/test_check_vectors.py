"""The provider's answer is validated before anything is written; valid vectors are never refused (#13 low 19)."""

import numpy as np
import pytest

from harness.provider import check_vectors


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tiny_but_valid_vectors_are_accepted(dtype):
    vectors = (np.random.default_rng(1).standard_normal((3, 8)) * 1e-30).astype(dtype)
    assert check_vectors(vectors, 3, 8) == []


def test_an_all_zero_vector_is_still_refused():
    vectors = np.vstack([np.ones(4), np.zeros(4)]).astype(np.float32)
    assert check_vectors(vectors, 2, 4) == ["row 1: vector is all zeros (cosine distance undefined)"]


def test_a_non_finite_vector_is_still_refused():
    vectors = np.array([[1.0, np.nan], [np.inf, 1.0]], dtype=np.float32)
    assert check_vectors(vectors, 2, 2) == ["row 0: vector has non-finite values (NaN or infinity)",
                                            "row 1: vector has non-finite values (NaN or infinity)"]
