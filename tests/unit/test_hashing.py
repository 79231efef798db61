"""The input hash algorithms: one table that knows each digest in Python (and, tested with Postgres, in SQL)."""

import hashlib

import pytest

from harness import hashing
from harness.errors import ConfigError
from harness.profile import parse_profile

PROFILE = ("name: n\nprovider: {model: m}\nchunks: {table: notes, id: id, text: body, collection_name: notes}\n"
           "embeddings: {vector: embedding%s}\n")


@pytest.mark.parametrize("name", ["sha256", "sha512", "sha1", "md5"])
def test_each_algorithm_hashes_the_texts_utf8_bytes_as_lowercase_hex(name):
    text = "Grüße, 東京 🚀"
    assert hashing.text_hash(text, name) == hashlib.new(name, text.encode("utf-8")).hexdigest()
    assert len(hashing.text_hash(text, name)) == hashing.ALGORITHMS[name].hex_length


def test_the_default_algorithm_is_sha256():
    assert hashing.text_hash("a") == hashlib.sha256(b"a").hexdigest() and hashing.algorithm(None).name == "sha256"


def test_only_sha1_needs_pgcrypto():
    assert [a.name for a in hashing.ALGORITHMS.values() if a.pgcrypto] == ["sha1"]


def test_an_unknown_algorithm_names_the_allowed_values():
    with pytest.raises(ValueError, match="expected one of sha256, sha512, sha1, md5, found 'crc32'"):
        hashing.algorithm("crc32")


def test_a_bytea_column_receives_the_digest_bytes_and_a_text_column_the_hex():
    hex_digest = hashing.text_hash("a", "md5")
    assert hashing.as_stored(hex_digest, "bytea") == hashlib.md5(b"a").digest()
    assert hashing.as_stored(hex_digest, "character varying(32)") == hex_digest


def test_the_profile_key_takes_an_algorithm():
    profile = parse_profile(PROFILE % ", input_hash: h, input_hash_algorithm: MD5", env={})
    assert profile.embeddings.input_hash_algorithm == "md5"
    assert parse_profile(PROFILE % ", input_hash: h", env={}).embeddings.input_hash_algorithm == "sha256"


def test_the_profile_key_refuses_an_unknown_algorithm_naming_the_key_and_the_values():
    with pytest.raises(ConfigError, match="'embeddings.input_hash_algorithm' must be one of sha256, sha512, sha1, md5, "
                                          "found 'crc32'"):
        parse_profile(PROFILE % ", input_hash: h, input_hash_algorithm: crc32", env={})


def test_the_profile_key_without_an_input_hash_column_is_refused():
    with pytest.raises(ConfigError, match="'embeddings.input_hash_algorithm' names the algorithm of embeddings.input_hash"):
        parse_profile(PROFILE % ", input_hash_algorithm: md5", env={})
