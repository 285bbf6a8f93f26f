"""CLIP's text tower: shapes, causal masking and end-of-text pooling, and the tokenizer inside state_dict."""

from __future__ import annotations

import io

import pytest
import torch

from lightning_gen.nn.text import TextEncoding
from lightning_gen.nn.text.transformer import TransformerTextEncoder

CAPTIONS = [f"the number {i}" for i in range(10)] + [f"a photo of a {c}" for c in ("cat", "dog", "ship")]


def tower(**kwargs) -> TransformerTextEncoder:
    torch.manual_seed(0)
    encoder = TransformerTextEncoder(width=16, layers=2, heads=2, vocab_size=300, max_length=24, **kwargs)
    encoder.fit_tokenizer(CAPTIONS)
    return encoder


def test_encoding_shapes_and_eot_pooling() -> None:
    encoder = tower()
    out = encoder(["the number 1", "a photo of a dog"])
    assert isinstance(out, TextEncoding)
    b, length, dim = out.tokens.shape
    assert (b, dim) == (2, 16) and out.mask.shape == (2, length) and out.pooled.shape == (2, 16)
    end = out.mask.sum(1) - 1
    assert torch.equal(out.pooled, out.tokens[torch.arange(2), end])
    assert (encoder.token_dim, encoder.pooled_dim, encoder.max_length, encoder.trainable) == (16, 16, 24, True)


def test_causal_features_ignore_later_tokens_and_padding() -> None:
    encoder = tower()
    short, = encoder(["the number 1"]).pooled
    padded = encoder(["the number 1", "a photo of a ship and of a cat"])  # the short row gets padding
    assert torch.allclose(padded.pooled[0], short, atol=1e-5)
    # the prefix features do not depend on what follows (causal mask)
    a = encoder(["the number 1"]).tokens[0, :3]
    b = encoder(["the number 7"]).tokens[0, :3]
    assert torch.allclose(a, b, atol=1e-5)


def test_mean_pooling_and_bidirectional_mask_padding() -> None:
    encoder = tower(pooling="mean", causal=False)
    alone = encoder(["the number 1"]).pooled[0]
    with_padding = encoder(["the number 1", "a photo of a ship and of a cat"]).pooled[0]
    assert torch.allclose(alone, with_padding, atol=1e-5)


def test_gradients_reach_every_parameter() -> None:
    encoder = tower()
    encoder(CAPTIONS[:4]).pooled.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters())


def test_tokenizer_travels_in_the_state_dict_through_a_weights_only_load() -> None:
    encoder = tower()
    buffer = io.BytesIO()
    torch.save(encoder.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    assert isinstance(state["_extra_state"], str)
    fresh = TransformerTextEncoder(**encoder.init_args)
    assert not fresh.tokenizer_fitted
    fresh.load_state_dict(state)
    texts = ["the number 4", "an unseen zebra"]
    assert torch.equal(fresh(texts).pooled, encoder(texts).pooled)


def test_errors() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        TransformerTextEncoder(width=16, layers=1, heads=2, vocab_size=300)(["x"])
    with pytest.raises(ValueError, match="pooling"):
        TransformerTextEncoder(pooling="max")  # type: ignore[arg-type]
    other = TransformerTextEncoder(width=16, layers=2, heads=2, vocab_size=300, max_length=20)
    with pytest.raises(ValueError, match="max_length=24"):
        other.set_extra_state(tower().get_extra_state())
