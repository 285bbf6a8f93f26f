"""CLIP: temperature, tokenizer fitting, checkpoints (resume, frozen loading, fingerprint), zero-shot."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from lightning_gen.models.clip import CLIP, clip_fingerprint, load_frozen_clip
from lightning_gen.nn.text.clip_text import CLIPTextEncoder
from tests.helpers import state_vector, trainer
from tests.models.clip_helpers import BarsDataModule, tiny_clip


def test_temperature_starts_at_0_07_and_the_logit_scale_is_clamped_at_100(tmp_path: Path) -> None:
    model = tiny_clip()
    assert model.logit_scale.item() == pytest.approx(1 / 0.07)
    with torch.no_grad():
        model.log_logit_scale.fill_(math.log(1000.0))
    assert model.logit_scale.item() == pytest.approx(100.0)  # clamped when used
    trainer(tmp_path, max_steps=1, limit_val_batches=0, enable_checkpointing=False).fit(model, datamodule=BarsDataModule())
    assert model.log_logit_scale.item() == pytest.approx(math.log(100.0))  # and clamped in place after a step
    with pytest.raises(ValueError, match="init_temperature"):
        tiny_clip(init_temperature=0.001)
    with pytest.raises(ValueError, match="positives"):
        tiny_clip(positives="classes")


def test_tokenizer_is_fitted_at_setup_and_a_missing_corpus_is_a_clear_error(tmp_path: Path) -> None:
    model = tiny_clip()
    assert not model.text_tower.tokenizer_fitted
    trainer(tmp_path, max_steps=1, limit_val_batches=0, enable_checkpointing=False).fit(model, datamodule=BarsDataModule())
    assert model.text_tower.tokenizer_fitted

    class NoCaptions(BarsDataModule):
        training_captions = class_prompts = None

    with pytest.raises(ValueError, match="training_captions"):
        trainer(tmp_path, max_steps=1, limit_val_batches=0, enable_checkpointing=False).fit(tiny_clip(), datamodule=NoCaptions())


def test_gradients_reach_both_towers_projections_and_temperature(tmp_path: Path) -> None:
    model = tiny_clip()
    model.text_tower.fit_tokenizer(BarsDataModule().training_captions())
    batch = next(iter(BarsDataModule().train_dataloader()))
    loss = model.contrastive_loss(*model(batch["image"], batch["text"]), batch)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    with pytest.raises(ValueError, match="captioned batches"):
        model.training_step((batch["image"], batch["label"]), 0)


def test_a_frozen_text_tower_stays_out_of_the_optimizer_and_gets_no_gradient(tmp_path: Path) -> None:
    model = tiny_clip()
    model.text_tower.trainable = False  # e.g. a pretrained tower (locked-text tuning)
    before = [p.detach().clone() for p in model.text_tower.parameters()]
    trainer(tmp_path, max_steps=2, limit_val_batches=0, enable_checkpointing=False).fit(model, datamodule=BarsDataModule())
    optimized = {id(p) for group in model.trainer.optimizers[0].param_groups for p in group["params"]}
    assert not optimized & {id(p) for p in model.text_tower.parameters()}
    assert {id(model.text_projection.weight), id(model.log_logit_scale)} <= optimized
    assert all(torch.equal(a, b) for a, b in zip(before, model.text_tower.parameters(), strict=True))
    assert all(p.grad is None for p in model.text_tower.parameters())


def fit(model: CLIP, tmp_path: Path, epochs: int, ckpt_path: str | None = None) -> CLIP:
    """``epochs`` epochs of 4 batches; saves ``epoch{epochs}.ckpt``."""
    t = trainer(tmp_path, max_epochs=epochs, limit_val_batches=0, enable_checkpointing=False)
    t.fit(model, datamodule=BarsDataModule(), ckpt_path=ckpt_path)
    t.save_checkpoint(tmp_path / f"epoch{epochs}.ckpt")
    return model


def test_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    # resumed at an epoch boundary (a plain DataLoader is not resumable mid-epoch); warm-up and cosine
    # schedule, AdamW moments and the temperature must all continue
    straight = fit(tiny_clip(cosine_steps=12), tmp_path / "a", 3)
    fit(tiny_clip(cosine_steps=12), tmp_path / "b", 1)
    resumed = fit(tiny_clip(cosine_steps=12), tmp_path / "b", 3, ckpt_path=str(tmp_path / "b" / "epoch1.ckpt"))
    assert torch.equal(state_vector(straight), state_vector(resumed))


def test_checkpoint_gives_a_frozen_clip_with_a_stable_fingerprint_and_its_text_encoder(tmp_path: Path) -> None:
    model = fit(tiny_clip(), tmp_path, 1).eval()
    ckpt = tmp_path / "epoch1.ckpt"
    frozen = load_frozen_clip(ckpt)
    assert not frozen.training and not any(p.requires_grad for p in frozen.parameters())
    assert frozen.embed_dim == 16
    assert clip_fingerprint(frozen) == clip_fingerprint(model)
    texts = ["the two bar", "unseen: three"]
    images = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(frozen.encode_text(texts), model.encode_text(texts), atol=1e-6)
        assert torch.allclose(frozen.encode_image(images), model.encode_image(images), atol=1e-6)
        assert torch.allclose(frozen.encode_text(texts).norm(dim=1), torch.ones(2))
    encoder = CLIPTextEncoder(str(ckpt))
    assert encoder.fingerprint == clip_fingerprint(model) and not encoder.trainable
    assert not any(p.requires_grad for p in encoder.parameters())
    out = encoder(texts)
    assert torch.allclose(out.pooled, frozen.encode_text(texts), atol=1e-6)
    assert out.tokens.shape[-1] == encoder.token_dim == 16 and encoder.pooled_dim == 16
    # the fingerprint changes with any tower weight, and the encoder refuses another CLIP's state
    with torch.no_grad():
        frozen.text_projection.weight[0, 0] += 1e-3
    assert clip_fingerprint(frozen) != clip_fingerprint(model)
    with pytest.raises(ValueError, match="fingerprint"):
        encoder.set_extra_state(clip_fingerprint(frozen))
    with pytest.raises(FileNotFoundError, match="CLIP checkpoint not found"):
        CLIPTextEncoder(str(tmp_path / "missing.ckpt"))


def test_zero_shot_on_a_tiny_trained_model_beats_chance(tmp_path: Path) -> None:
    model = tiny_clip(cosine_steps=80)
    t = trainer(tmp_path, max_steps=80, enable_checkpointing=False, check_val_every_n_epoch=20)
    t.fit(model, datamodule=BarsDataModule(n=128))
    results = t.validate(model, datamodule=BarsDataModule(), verbose=False)[0]
    assert results["val/zeroshot_seen"] >= 0.75  # chance: 0.25
    assert "val/zeroshot_heldout" in results
