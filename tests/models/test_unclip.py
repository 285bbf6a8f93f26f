"""unCLIP (Ramesh et al., 2022): the prior, the decoder, the frozen CLIP they share, chaining and resume."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lightning_gen.models.unclip_clip import CLIPMismatchError
from lightning_gen.sampling import load_model, sample_chain
from tests.helpers import trainer
from tests.models.unclip_helpers import (
    EMBED,
    all_captions,
    captioned_mnist,
    tiny_clip,
    tiny_decoder,
    tiny_prior,
)

PROMPTS = ["a handwritten digit seven", "the number 3"]


def fit(model, dm, folder, steps: int = 2, **kwargs):
    t = trainer(folder, max_steps=steps, limit_val_batches=kwargs.pop("limit_val_batches", 0), **kwargs)
    t.fit(model, dm)
    return t


def save(model, dm, folder, steps: int = 2) -> str:
    t = fit(model, dm, folder, steps, enable_checkpointing=False)
    path = folder / "model.ckpt"
    t.save_checkpoint(path)
    return str(path)


# ---------------------------------------------------------------------------------------------------- prior
def test_prior_loss_is_the_x0_mse_of_the_standardised_image_embedding():
    torch.manual_seed(0)
    clip = tiny_clip()
    prior = tiny_prior(clip, text_dropout=0.0)
    z = torch.randn(32, EMBED)
    prior.denoiser.set_embedding_statistics(z.mean(0), z.std(0))
    images, texts = torch.rand(4, 1, 8, 8) * 2 - 1, all_captions()[:4]
    loss = prior.diffusion_loss(images, texts, torch.Generator().manual_seed(1))
    # by hand: the same draws (t, eps) from the same seed, the denoiser's x_0 prediction vs the standardised target
    gen = torch.Generator().manual_seed(1)
    t = torch.randint(0, 50, (4,), generator=gen)
    eps = torch.randn(4, EMBED, generator=gen)
    x0 = (clip.encode_image(images) - z.mean(0)) / z.std(0)
    x_t = prior.noise_schedule.sqrt_alphas_cumprod[t, None] * x0 + prior.noise_schedule.sqrt_one_minus_alphas_cumprod[t, None] * eps
    encoding = clip.text_tower(texts)
    with torch.no_grad():
        predicted = prior.denoiser(x_t, t, text_embedding=clip.encode_text(texts), text_tokens=encoding.tokens,
                                   text_mask=encoding.mask)  # fmt: skip
    assert loss.shape == () and torch.isfinite(loss)
    assert torch.allclose(loss.detach(), F.mse_loss(predicted, x0), atol=1e-6)


def test_prior_samples_unit_norm_embeddings_per_prompt_and_guidance_scale_one_is_conditional():
    torch.manual_seed(0)
    prior = tiny_prior(tiny_clip(), text_dropout=0.2)
    z = F.normalize(torch.randn(64, EMBED), dim=-1)
    for network in (prior.denoiser, prior.ema.shadow):
        network.set_embedding_statistics(z.mean(0), z.std(0))
    a = prior.sample(3, prompts=PROMPTS, seed=0, steps=4, progress=False)
    assert a.shape == (6, EMBED) and torch.allclose(a.norm(dim=-1), torch.ones(6), atol=1e-5)
    assert torch.equal(a, prior.sample(3, prompts=PROMPTS, seed=0, steps=4, progress=False))  # same seed, same samples
    guided1 = prior.sample(3, prompts=PROMPTS, seed=0, steps=4, guidance_scale=1.0, progress=False)
    assert torch.allclose(a, guided1, atol=1e-5)
    guided4 = prior.sample(3, prompts=PROMPTS, seed=0, steps=4, guidance_scale=4.0, progress=False)
    assert (a - guided4).abs().max() > 1e-3  # the null-text branch is a different prediction
    with pytest.raises(ValueError, match="prompt list is empty"):
        prior.sample(1, prompts=[], progress=False)
    with pytest.raises(ValueError, match="text_dropout=0"):
        tiny_prior(tiny_clip(), text_dropout=0.0).sample(1, prompts=PROMPTS, guidance_scale=2.0)


def test_null_text_replaces_the_text_and_only_it():
    torch.manual_seed(0)
    network = tiny_prior(tiny_clip()).denoiser.eval()
    x, t = torch.randn(2, EMBED), torch.tensor([3, 40])
    texts = {"text_embedding": torch.randn(2, EMBED), "text_tokens": torch.randn(2, 5, 16), "text_mask": torch.ones(2, 5, dtype=torch.bool)}
    other = {"text_embedding": torch.randn(2, EMBED), "text_tokens": torch.randn(2, 3, 16), "text_mask": torch.ones(2, 3, dtype=torch.bool)}
    null = torch.ones(2, dtype=torch.bool)
    with torch.no_grad():
        assert torch.allclose(network(x, t, **texts, null_mask=null), network(x, t, **other, null_mask=null), atol=1e-6)
        assert (network(x, t, **texts) - network(x, t, **other)).abs().max() > 1e-4


def test_clip_is_frozen_gets_no_gradient_and_sits_in_no_optimizer(mnist_root, tmp_path):
    torch.manual_seed(0)
    clip = tiny_clip()
    before = {k: v.clone() for k, v in clip.state_dict().items() if torch.is_tensor(v)}
    dm = captioned_mnist(mnist_root)
    for model in (tiny_prior(clip), tiny_decoder(clip)):
        network_before = [p.detach().clone() for p in model.denoiser.parameters() if p.requires_grad]
        modes: list[bool] = []
        for tower in (model.clip.image_tower, model.clip.text_tower):
            tower.register_forward_pre_hook(lambda m, args, modes=modes: modes.append(m.training))
        t = fit(model, dm, tmp_path / type(model).__name__, steps=3, enable_checkpointing=False)
        optimized = {id(p) for group in t.optimizers[0].param_groups for p in group["params"]}
        assert not optimized & {id(p) for p in model.clip.parameters()}
        assert all(not p.requires_grad and p.grad is None for p in model.clip.parameters())
        assert modes and not any(modes)  # eval mode whenever CLIP runs, also inside training steps
        after = [p.detach() for p in model.denoiser.parameters() if p.requires_grad]
        assert any(not torch.equal(a, b) for a, b in zip(network_before, after, strict=True))  # the network trained
    assert all(torch.equal(before[k], v) for k, v in clip.state_dict().items() if torch.is_tensor(v))


def test_prior_statistics_come_from_the_training_image_embeddings(mnist_root, tmp_path):
    torch.manual_seed(0)
    clip = tiny_clip()
    prior = tiny_prior(clip, statistics_batches=2)
    dm = captioned_mnist(mnist_root, limit=64, batch_size=16)
    assert not prior.denoiser.has_statistics
    fit(prior, dm, tmp_path, steps=1, enable_checkpointing=False)
    loader = dm.train_dataloader()
    z = torch.cat([clip.encode_image(batch["image"]) for _, batch in zip(range(2), loader, strict=False)]).double()
    for network in (prior.denoiser, prior.ema.shadow):
        stats = network.transformer
        assert torch.allclose(stats.clip_mean[0].double(), z.mean(0), atol=1e-5)
        assert torch.allclose(stats.clip_std[0].double(), z.std(0, unbiased=False), atol=1e-5)


# ---------------------------------------------------------------------------------------------------- decoder
def test_decoder_embedding_dropout_gives_the_null_context(mnist_root, tmp_path):
    torch.manual_seed(0)
    decoder = tiny_decoder(tiny_clip(), embedding_dropout=0.5)
    calls: list[dict] = []
    decoder.denoiser.register_forward_pre_hook(lambda m, args, kwargs: calls.append(kwargs), with_kwargs=True)
    fit(decoder, captioned_mnist(mnist_root), tmp_path, steps=4, enable_checkpointing=False)
    null = torch.cat([c["null_mask"] for c in calls])
    assert null.dtype == torch.bool and 0 < null.sum() < null.numel()  # about half of 64 rows
    # a nulled row's output does not depend on its embedding: it is the learned null context
    network = decoder.denoiser.eval()
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([5, 30])
    rows = torch.ones(2, dtype=torch.bool)
    with torch.no_grad():
        a = network(x, t, image_embedding=torch.randn(2, EMBED), null_mask=rows)
        b = network(x, t, image_embedding=torch.randn(2, EMBED), null_mask=rows)
        c = network(x, t, image_embedding=torch.randn(2, EMBED))
        null_context = network.unet(x, t, context=None)
    assert torch.allclose(a, b, atol=1e-6) and torch.allclose(a, null_context, atol=1e-6)
    assert (a - c).abs().max() > 1e-5


def test_decoder_guidance_scale_one_equals_conditional_and_vary_shapes():
    torch.manual_seed(0)
    decoder = tiny_decoder(tiny_clip()).eval()
    images = torch.rand(2, 1, 8, 8) * 2 - 1
    plain = decoder.vary(images, 3, seed=0, steps=3, progress=False)
    assert plain.shape == (6, 1, 8, 8) and plain.min() >= -1 and plain.max() <= 1
    assert torch.allclose(plain, decoder.vary(images, 3, seed=0, steps=3, guidance_scale=1.0, progress=False), atol=1e-5)
    with pytest.raises(ValueError, match="decodes CLIP image embeddings, not noise alone"):
        decoder.sample(2)


# ---------------------------------------------------------------------------------------------------- chaining
@pytest.fixture(scope="module")
def checkpoints(mnist_root, tmp_path_factory):
    """A prior and a decoder trained (2 steps each) with one tiny CLIP, and a decoder trained with another."""
    folder = tmp_path_factory.mktemp("unclip")
    dm = captioned_mnist(mnist_root)
    clip = tiny_clip(seed=0)
    return {
        "prior": save(tiny_prior(clip), dm, folder / "prior"),
        "decoder": save(tiny_decoder(clip, text=True), dm, folder / "decoder"),
        "other_decoder": save(tiny_decoder(tiny_clip(seed=1)), dm, folder / "other"),
    }


def test_sample_chain_from_checkpoints_alone(checkpoints):
    prior, decoder = load_model(checkpoints["prior"]), load_model(checkpoints["decoder"])
    assert prior.clip_fingerprint == decoder.clip_fingerprint
    images = sample_chain([prior, decoder], 2, prompts=PROMPTS, seed=0, steps=3)
    assert images.shape == (4, 1, 8, 8)
    assert torch.equal(images, sample_chain([prior, decoder], 2, prompts=PROMPTS, seed=0, steps=3))


def test_chaining_a_prior_and_decoder_of_different_clips_is_an_error(checkpoints):
    prior, other = load_model(checkpoints["prior"]), load_model(checkpoints["other_decoder"])
    with pytest.raises(CLIPMismatchError, match="trained with CLIP .* but the UnCLIPDecoder with CLIP .*same CLIP"):
        sample_chain([prior, other], 1, prompts=PROMPTS, steps=2)


def test_the_checkpoint_stores_the_clip_once(checkpoints):
    checkpoint = torch.load(checkpoints["decoder"], map_location="cpu", weights_only=True)
    assert not any(k.startswith("clip.") for k in checkpoint["state_dict"])
    record = checkpoint["lightning_gen"]["clip"]
    assert set(record) == {"fingerprint", "source", "checkpoint"}
    assert any(k.startswith("text_tower.") for k in record["checkpoint"]["state_dict"])


def test_resume_at_an_epoch_boundary_equals_an_uninterrupted_run(mnist_root, tmp_path):
    clip = tiny_clip()

    def run(folder: str, epochs: int, model=None, ckpt_path=None):
        model = model or tiny_prior(clip)
        t = trainer(tmp_path / folder, max_epochs=epochs, limit_val_batches=0, enable_checkpointing=False)
        t.fit(model, captioned_mnist(mnist_root, limit=32), ckpt_path=ckpt_path)  # 2 batches per epoch
        return model, t

    torch.manual_seed(0)
    straight, _ = run("straight", 2)
    torch.manual_seed(0)
    _, t = run("first", 1)
    t.save_checkpoint(tmp_path / "epoch1.ckpt")
    torch.manual_seed(123)  # the resumed run must not depend on the global RNG
    resumed, _ = run("resumed", 2, ckpt_path=tmp_path / "epoch1.ckpt")
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        if torch.is_tensor(a):  # (the tokenizer is extra state, a string)
            assert torch.equal(a, b), name
    with pytest.raises(CLIPMismatchError, match="resume with the CLIP it was trained with"):
        run("wrong", 2, model=tiny_prior(tiny_clip(seed=1)), ckpt_path=tmp_path / "epoch1.ckpt")


def test_cli_samples_text_prior_decoder_from_checkpoints(checkpoints, tmp_path, capsys):
    from PIL import Image

    from lightning_gen.cli import main

    grid = tmp_path / "grid.png"
    chain = ["sample", "--ckpt", checkpoints["prior"], "--ckpt", checkpoints["decoder"], "--prompt", PROMPTS[0],
             "--prompt", PROMPTS[1], "--num", "3", "--steps", "2"]  # fmt: skip
    assert main([*chain, "--out", str(grid)]) == 0
    assert Image.open(grid).size == (3 * 10 + 2, 2 * 10 + 2)  # one row per prompt, --num images each
    assert main([*chain, "--out", str(tmp_path / "again.png")]) == 0
    assert Image.open(grid).tobytes() == Image.open(tmp_path / "again.png").tobytes()  # same seed, same images
    # the prior alone samples CLIP image embeddings (raw values)
    assert main(["sample", "--ckpt", checkpoints["prior"], "--prompt", PROMPTS[0], "--num", "4", "--steps", "2",
                 "--out", str(tmp_path / "embeddings.pt")]) == 0  # fmt: skip
    assert torch.load(tmp_path / "embeddings.pt").shape == (4, EMBED)
    capsys.readouterr()
    mismatched = ["sample", "--ckpt", checkpoints["prior"], "--ckpt", checkpoints["other_decoder"], "--prompt", "x"]
    assert main([*mismatched, "--out", str(tmp_path / "no.png")]) == 2
    assert "cannot be chained" in capsys.readouterr().err
