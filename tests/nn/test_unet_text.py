"""TextConditionalUNet: diffusers' UNet2DConditionModel with context tokens, pooled embedding, null embedding."""

from __future__ import annotations

import pytest
import torch

from lightning_gen.nn.unet_text import TextConditionalUNet


def tiny(**kwargs) -> TextConditionalUNet:
    options = dict(image_size=8, channels=1, context_dim=12, pooled_dim=6, widths=[8, 16], attention_resolutions=[4],
                   norm_groups=4, heads=2)  # fmt: skip
    options.update(kwargs)
    return TextConditionalUNet(**options)


def inputs(batch: int = 3, length: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x, t = torch.randn(batch, 1, 8, 8, generator=g), torch.tensor([3, 400, 999][:batch])
    context, pooled = torch.randn(batch, length, 12, generator=g), torch.randn(batch, 6, generator=g)
    mask = torch.ones(batch, length, dtype=torch.bool)
    mask[0, 3:] = False
    return x, t, context, mask, pooled


def test_context_tokens_mask_and_pooled_all_reach_the_output():
    torch.manual_seed(0)
    net = tiny().eval()
    x, t, context, mask, pooled = inputs()
    out = net(x, t, context=context, context_mask=mask, pooled=pooled)
    assert out.shape == x.shape
    changed = context.clone()
    changed[0, 4] += 5.0  # a padding token of row 0: masked out, no effect
    torch.testing.assert_close(net(x, t, context=changed, context_mask=mask, pooled=pooled), out)
    changed[0, 1] += 5.0  # a real token: row 0 changes, the others do not
    moved = net(x, t, context=changed, context_mask=mask, pooled=pooled)
    assert not torch.allclose(moved[0], out[0]) and torch.allclose(moved[1:], out[1:])
    other_pooled = net(x, t, context=context, context_mask=mask, pooled=pooled + 1.0)
    assert not torch.allclose(other_pooled, out)


def test_null_mask_rows_get_the_learned_null_embedding():
    torch.manual_seed(0)
    net = tiny().eval()
    x, t, context, mask, pooled = inputs()
    null = net(x, t)  # no context at all: the null embedding for every row
    dropped = net(x, t, context=context, context_mask=mask, pooled=pooled, null_mask=torch.tensor([True, False, True]))
    torch.testing.assert_close(dropped[[0, 2]], null[[0, 2]], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(dropped[1], net(x, t, context=context, context_mask=mask, pooled=pooled)[1])
    # the null embedding is learned: gradients reach it only through dropped rows
    net.zero_grad()
    net(x, t, context=context, context_mask=mask, pooled=pooled).square().mean().backward()
    assert net.null_context.grad is None or net.null_context.grad.abs().sum() == 0
    net(x, t, context=context, context_mask=mask, pooled=pooled, null_mask=torch.tensor([True, False, False])).square().mean().backward()
    assert net.null_context.grad.abs().sum() > 0 and net.null_pooled.grad.abs().sum() > 0


def test_conditioning_image_and_noise_level_are_inputs():
    torch.manual_seed(0)
    net = tiny(cond_channels=1, cond_level_input=True).eval()
    x, t, context, mask, pooled = inputs()
    low = torch.randn_like(x)
    a = net(x, t, low, context=context, context_mask=mask, pooled=pooled, cond_level=torch.zeros(3))
    b = net(x, t, low, context=context, context_mask=mask, pooled=pooled, cond_level=torch.full((3,), 250.0))
    c = net(x, t, -low, context=context, context_mask=mask, pooled=pooled, cond_level=torch.zeros(3))
    assert not torch.allclose(a, b) and not torch.allclose(a, c)
    with pytest.raises(ValueError, match="pass cond_level"):
        net(x, t, low, context=context, context_mask=mask, pooled=pooled)
    with pytest.raises(ValueError, match="1-channel conditioning image; got none"):
        net(x, t, context=context, context_mask=mask, pooled=pooled, cond_level=torch.zeros(3))


def test_bad_shapes_and_options_are_clear_errors():
    net = tiny()
    x, t, context, mask, pooled = inputs()
    with pytest.raises(ValueError, match="token_dim must equal the denoiser's context_dim"):
        net(x, t, context=torch.randn(3, 5, 7), pooled=pooled)
    with pytest.raises(ValueError, match=r"pass pooled of shape \(3, 6\)"):
        net(x, t, context=context, context_mask=mask)
    with pytest.raises(ValueError, match=r"attention_resolutions \[5\] are not resolutions"):
        tiny(attention_resolutions=[5])
    with pytest.raises(ValueError, match="heads=3 must divide every width"):
        tiny(heads=3)
    no_pooled = tiny(pooled_dim=0)
    assert no_pooled(x, t, context=context, context_mask=mask).shape == x.shape
