"""CLIP's symmetric InfoNCE: a hand computation, repeated captions as positives, and the 2-process DDP
gather (loss and gradients equal to one process on the concatenated batch)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from lightning_gen.losses import ContrastiveLoss, caption_groups, contrastive_loss, positive_targets
from tests.helpers import run_ddp_script


def test_two_pairs_against_a_hand_computation() -> None:
    # unit vectors at 0 and 90 degrees; image 0 is at 0 degrees, image 1 at 60 degrees
    texts = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    images = torch.tensor([[1.0, 0.0], [0.5, math.sqrt(3) / 2]])
    s = 2.0
    loss = contrastive_loss(images, texts, s)
    # logits = s * I T^T = [[2, 0], [1, sqrt(3)]]
    a, b, c, d = 2.0, 0.0, 1.0, math.sqrt(3)
    row0 = -a + math.log(math.exp(a) + math.exp(b))  # image 0 -> text 0
    row1 = -d + math.log(math.exp(c) + math.exp(d))  # image 1 -> text 1
    col0 = -a + math.log(math.exp(a) + math.exp(c))  # text 0 -> image 0
    col1 = -d + math.log(math.exp(b) + math.exp(d))  # text 1 -> image 1
    expected = torch.tensor([(row0 + col0) / 2, (row1 + col1) / 2])
    assert torch.allclose(loss, expected, atol=1e-6)
    # the mean equals CLIP's pseudo-code (Radford et al. 2021, Fig. 3)
    logits = s * images @ texts.T
    labels = torch.arange(2)
    clip = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    assert torch.allclose(loss.mean(), clip)


def test_repeated_captions_are_positives_of_each_other() -> None:
    texts = ["the number 1", "the number 2", "the number 1", "the number 3"]
    groups = caption_groups(texts)
    assert groups[0] == groups[2] and len(set(groups.tolist())) == 3
    targets = positive_targets(groups, groups)
    expected = torch.tensor([[0.5, 0, 0.5, 0], [0, 1, 0, 0], [0.5, 0, 0.5, 0], [0, 0, 0, 1.0]])
    assert torch.equal(targets, expected)
    # image i and its caption aligned, the repeated caption's two images alike: each row's loss is the
    # entropy of its uniform target, ln 2 for the repeated caption's rows, 0 for the others
    features = torch.eye(4)[[0, 1, 0, 3]]
    loss = contrastive_loss(features, features, 100.0, groups=groups)
    assert torch.allclose(loss, torch.tensor([math.log(2), 0, math.log(2), 0]), atol=1e-4)
    # identity groups are plain CLIP
    random = F.normalize(torch.randn(4, 3, generator=torch.Generator().manual_seed(0)), dim=1)
    assert torch.allclose(
        contrastive_loss(random, random, 3.0, groups=torch.arange(4)), contrastive_loss(random, random, 3.0)
    )


def test_label_groups_make_other_wordings_of_a_class_positives() -> None:
    # "the number 1" and "a handwritten one": different captions (different text features), same label
    gen = torch.Generator().manual_seed(3)
    images = F.normalize(torch.randn(4, 8, generator=gen), dim=1).requires_grad_()
    texts = F.normalize(torch.randn(4, 8, generator=gen), dim=1)
    labels = torch.tensor([1, 2, 1, 3])
    by_label = contrastive_loss(images, texts, 10.0, groups=labels)
    by_caption = contrastive_loss(images, texts, 10.0)  # four distinct captions: identity targets
    assert not torch.allclose(by_label, by_caption)
    # the label loss by hand for row 0: targets 1/2 on texts 0 and 2 (image -> text) and on images 0 and 2
    logits = 10.0 * images @ texts.T
    target = torch.tensor([0.5, 0, 0.5, 0])
    row0 = -(target * logits[0].log_softmax(0)).sum()
    col0 = -(target * logits.T[0].log_softmax(0)).sum()
    assert torch.allclose(by_label[0], (row0 + col0) / 2, atol=1e-6)
    # and its gradient pulls image 0 towards the other wording of its class (plain InfoNCE pushes it away)
    by_label.sum().backward()
    pull = -(images.grad[0] @ texts[2])
    images.grad = None
    by_caption.sum().backward()
    assert pull > 0 > -(images.grad[0] @ texts[2])


def test_exact_duplicate_captions_leave_the_mean_loss_unchanged() -> None:
    # A finding the caption groups make explicit: when a repeated caption's features are *identical*
    # (a deterministic text tower), the false negative cancels exactly: the mean loss (and so every
    # gradient) of caption groups equals plain InfoNCE's; only the per-row values are shared out evenly.
    gen = torch.Generator().manual_seed(4)
    images = F.normalize(torch.randn(4, 8, generator=gen), dim=1)
    texts = F.normalize(torch.randn(4, 8, generator=gen), dim=1)[[0, 1, 0, 3]]
    groups = caption_groups(["a", "b", "a", "c"])
    grouped = contrastive_loss(images, texts, 10.0, groups=groups)
    plain = contrastive_loss(images, texts, 10.0)
    assert torch.allclose(grouped.mean(), plain.mean(), atol=1e-6) and not torch.allclose(grouped, plain)


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"\(b, D\)"):
        contrastive_loss(torch.randn(2, 3), torch.randn(3, 3), 1.0)
    with pytest.raises(ValueError, match="no positive column"):
        positive_targets(torch.tensor([5]), torch.tensor([1, 2]))


DDP_BODY = """
import json, os
import torch, torch.distributed as dist, torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn
from lightning_gen.losses import ContrastiveLoss, contrastive_loss, distributed_gather

N, B = 8, 4


class Towers(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.image = nn.Linear(5, 3)
        self.text = nn.Linear(6, 3)
        self.log_scale = nn.Parameter(torch.tensor(1.5))

    def forward(self, x, y):
        return F.normalize(self.image(x), dim=1), F.normalize(self.text(y), dim=1), self.log_scale.exp()


def data():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(N, 5, generator=g), torch.randn(N, 6, generator=g)
    groups = torch.tensor([0, 1, 2, 0, 3, 1, 4, 5])  # repeated captions across the two ranks
    return x, y, groups


def grads(model):
    return [p.grad.flatten().tolist() for p in model.parameters()]


def plain_gather(t):  # the #1047 failure mode: all_gather without gradients
    parts = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, t.detach().contiguous())
    parts[dist.get_rank()] = t
    return torch.cat(parts)


def worker(rank):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=os.environ["PORT"])
    dist.init_process_group("gloo", rank=rank, world_size=2)
    x, y, groups = data()
    rows = slice(rank * B, (rank + 1) * B)
    record = {}
    for name, gather in (("with_grad", distributed_gather), ("plain", plain_gather)):
        model = nn.parallel.DistributedDataParallel(Towers())
        img, txt, scale = model(x[rows], y[rows])
        loss = ContrastiveLoss(gather, rank)(img, txt, scale, groups[rows]).mean()
        loss.backward()
        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss)
        record[name] = {"loss": mean_loss.item() / 2, "grads": grads(model.module)}
    json.dump(record, open(OUT + f"/rank{rank}.json", "w"))
    dist.destroy_process_group()


if __name__ == "__main__":
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        os.environ["PORT"] = str(s.getsockname()[1])
    mp.spawn(worker, nprocs=2)
    model = Towers()
    x, y, groups = data()
    img, txt, scale = model(x, y)
    loss = contrastive_loss(img, txt, scale, groups=groups).mean()
    loss.backward()
    json.dump({"loss": loss.item(), "grads": grads(model)}, open(OUT + "/single.json", "w"))
"""


def test_two_process_gathered_loss_and_gradients_equal_one_process(tmp_path: Path) -> None:
    import json

    ranks = run_ddp_script(DDP_BODY, tmp_path, timeout=240)
    single = json.loads((tmp_path / "single.json").read_text())
    for record in ranks:
        assert record["with_grad"]["loss"] == pytest.approx(single["loss"], rel=1e-5)
        for got, want in zip(record["with_grad"]["grads"], single["grads"], strict=True):
            assert torch.allclose(torch.tensor(got), torch.tensor(want), atol=1e-6), (got, want)
    # the same run with a gather that drops gradients (open_clip #1047) gets the loss right but not the gradients
    plain = ranks[0]["plain"]
    assert plain["loss"] == pytest.approx(single["loss"], rel=1e-5)
    assert not all(
        torch.allclose(torch.tensor(g), torch.tensor(w), atol=1e-4) for g, w in zip(plain["grads"], single["grads"], strict=True)
    )


def test_single_process_contrastive_loss_object_is_the_plain_loss() -> None:
    features = F.normalize(torch.randn(3, 4, generator=torch.Generator().manual_seed(2)), dim=1)
    assert torch.equal(ContrastiveLoss()(features, features, 2.0), contrastive_loss(features, features, 2.0))
