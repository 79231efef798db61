"""``state.inserted_again``: a run's counts before and after say it inserted the collection's texts again."""

from harness.state import inserted_again


def test_a_first_fill_whose_corpus_repeats_its_texts_copied_no_text_it_held():
    """`run --into NEW` of a corpus of repeated sections: NEW held nothing before, so none of its copies is of a text
    it already held (it was called an ingest again)."""
    assert inserted_again({"chunks": 0, "text_copies": 0}, {"collection": "new", "chunks": 10, "text_copies": 9}) is None


def test_every_text_inserted_a_second_time_is_an_ingest_again():
    said = inserted_again({"chunks": 29, "text_copies": 0}, {"collection": "c", "chunks": 58, "text_copies": 29})
    assert said is not None and said.startswith("the run added 29 chunks to c (29 -> 58), 29 of them a copy"), said
