"""The history pool of generated images (Shrivastava et al., 2017; CycleGAN's image_pool.py)."""

import torch

from lightning_gen.nn import ImagePool


def _batch(start, n=5):
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2).clone()


def test_returns_the_new_images_while_filling():
    pool = ImagePool(size=10, seed=0)
    for start in (0, 5):
        batch = _batch(start)
        assert torch.equal(pool.query(batch), batch)
    assert len(pool) == 10


def test_once_full_each_item_is_new_or_a_stored_one_that_it_replaces():
    pool = ImagePool(size=10, seed=0)
    pool.query(_batch(0, 10))  # pool holds 0..9
    returned_old = 0
    for value in range(100, 2100):  # one image per query: CycleGAN's rule is applied image by image
        before = sorted(float(x[0, 0, 0]) for x in pool.images)
        out = float(pool.query(_batch(value, 1))[0, 0, 0, 0])
        after = sorted(float(x[0, 0, 0]) for x in pool.images)
        assert len(pool) == 10
        if out == value:  # the new image, pool unchanged
            assert after == before
        else:  # a stored image, which the new one replaces
            returned_old += 1
            assert out in before and sorted([*before, value]) == sorted([*after, out])
    assert 0.45 < returned_old / 2000 < 0.55  # probability 1/2


def test_a_batch_mixes_new_and_stored_images():
    pool = ImagePool(size=50, seed=0)
    pool.query(torch.randn(50, 1, 2, 2))
    new = torch.randn(40, 1, 2, 2)
    out = pool.query(new)
    kept = [(o == n).all() for o, n in zip(out, new, strict=True)]
    assert out.shape == new.shape and 0 < sum(kept) < 40 and len(pool) == 50


def test_output_is_detached_and_seeded():
    x = torch.randn(60, 1, 2, 2, requires_grad=True)
    a, b = ImagePool(50, seed=3), ImagePool(50, seed=3)
    out_a, out_b = a.query(x * 2), b.query(x * 2)
    assert not out_a.requires_grad and torch.equal(out_a, out_b)
    assert torch.equal(a.query(x), b.query(x))


def test_size_zero_disables_the_pool():
    pool = ImagePool(size=0)
    x = torch.randn(4, 1, 2, 2)
    assert torch.equal(pool.query(x), x) and len(pool) == 0
