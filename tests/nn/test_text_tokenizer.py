"""The BPE tokenizer: round trip, unseen words, truncation, and its place in a weights-only checkpoint."""

from __future__ import annotations

import io
import warnings

import pytest
import torch

from lightning_gen.nn.text.tokenizer import BPETokenizer

DIGITS = "zero one two three four five six seven eight nine".split()
CAPTIONS = [f"a handwritten digit {w}" for w in DIGITS] + [f"the number {i}" for i in range(10)]


@pytest.fixture(scope="module")
def tokenizer() -> BPETokenizer:
    return BPETokenizer(vocab_size=320, max_length=16).fit(CAPTIONS * 20)


def test_round_trip_and_special_tokens(tokenizer: BPETokenizer) -> None:
    ids, mask = tokenizer.encode(["the number 7", "a handwritten digit seven"])
    assert ids.dtype == torch.long and mask.dtype == torch.bool and ids.shape == mask.shape
    assert (ids[:, 0] == tokenizer.sot_id).all()
    for row, m, text in zip(ids, mask, ["the number 7", "a handwritten digit seven"], strict=True):
        real = row[m]
        assert real[-1] == tokenizer.eot_id and (row[~m] == tokenizer.pad_id).all()
        assert tokenizer.decode(real) == text
    # trained merges: a seen caption is a few tokens, far fewer than its bytes
    assert mask[1].sum() < len("a handwritten digit seven") // 2
    assert int(ids.max()) < tokenizer.vocab_size


def test_unseen_words_and_characters_tokenise() -> None:
    tokenizer = BPETokenizer(vocab_size=320, max_length=64).fit(CAPTIONS)
    text = "a zebra, ünïcode and 🦓 xylophone 12345"
    ids, mask = tokenizer.encode([text])
    assert tokenizer.decode(ids[0][mask[0]]) == text  # bytes cover everything: nothing unknown, nothing lost
    assert int(ids.max()) < tokenizer.vocab_size


def test_lowercase_and_deterministic_training() -> None:
    a = BPETokenizer(vocab_size=300, max_length=16).fit(CAPTIONS)
    b = BPETokenizer(vocab_size=300, max_length=16).fit(CAPTIONS)
    assert a.to_json() == b.to_json()  # every DDP rank fits the same tokenizer
    assert torch.equal(a.encode(["The NUMBER 7"])[0], a.encode(["the number 7"])[0])


def test_long_prompt_is_truncated_with_a_warning_naming_it(tokenizer: BPETokenizer) -> None:
    prompt = "a handwritten digit seven " * 10
    with pytest.warns(UserWarning, match=r"a handwritten digit seven.*context of 16 tokens"):
        ids, mask = tokenizer.encode([prompt, "the number 1"])
    assert ids.shape[1] == 16 and mask[0].all() and ids[0, -1] == tokenizer.eot_id
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tokenizer.encode(["the number 1"])  # a short prompt: no warning


def test_json_round_trip_survives_weights_only_load(tokenizer: BPETokenizer) -> None:
    buffer = io.BytesIO()
    torch.save({"state": {"tok": tokenizer.to_json()}}, buffer)
    buffer.seek(0)
    loaded = BPETokenizer.from_json(torch.load(buffer, weights_only=True)["state"]["tok"])
    assert loaded.max_length == 16 and loaded.vocab_size == 320
    texts = ["the number 3", "never seen words"]
    assert torch.equal(loaded.encode(texts)[0], tokenizer.encode(texts)[0])


def test_bad_input_is_a_clear_error(tokenizer: BPETokenizer) -> None:
    with pytest.raises(ValueError, match="Empty prompt list"):
        tokenizer.encode([])
    with pytest.raises(ValueError, match="list of strings"):
        tokenizer.encode("the number 1")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="not fitted"):
        BPETokenizer().encode(["x"])
    with pytest.raises(ValueError, match="vocab_size must be >= 259"):
        BPETokenizer(vocab_size=100)
