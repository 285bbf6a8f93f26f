"""A tiny captioned dataset made here (bars at class-dependent columns) and a tiny CLIP, for the CLIP tests."""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, Dataset

from lightning_gen.models.clip import CLIP
from lightning_gen.nn.image_towers import ResNetImageTower
from lightning_gen.nn.text.transformer import TransformerTextEncoder

WORDS = ("zero", "one", "two", "three")
TEMPLATES = ("a bar at {w}", "the {w} bar", "bar number {w}")  # the last one is held out of training
SEEN, HELDOUT = (0, 1), (2,)


class BarsDataset(Dataset):
    """Class k: a bright vertical band in columns 4k..4k+3 of a 16x16 image, plus noise; captions cycle
    through the seen templates."""

    def __init__(self, n: int, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.labels = torch.arange(n) % len(WORDS)
        self.images = torch.full((n, 1, 16, 16), -1.0) + 0.3 * torch.randn(n, 1, 16, 16, generator=gen)
        for i, k in enumerate(self.labels.tolist()):
            self.images[i, :, :, 4 * k : 4 * k + 4] += 2.0

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        k = int(self.labels[i])
        template = TEMPLATES[SEEN[(i // len(WORDS)) % len(SEEN)]]
        return {"image": self.images[i], "text": template.format(w=WORDS[k]), "label": self.labels[i]}


class BarsDataModule(pl.LightningDataModule):
    def __init__(self, n: int = 64, batch_size: int = 16, seed: int = 0) -> None:
        super().__init__()
        self.n, self.batch_size, self.seed = n, batch_size, seed

    def training_captions(self) -> list[str]:
        return [TEMPLATES[t].format(w=w) for t in SEEN for w in WORDS]

    def class_prompts(self, split: str = "all") -> list[list[str]]:
        templates = {"seen": SEEN, "heldout": HELDOUT, "all": SEEN + HELDOUT}[split]
        return [[TEMPLATES[t].format(w=w) for t in templates] for w in WORDS]

    def train_dataloader(self) -> DataLoader:
        return DataLoader(BarsDataset(self.n, self.seed), batch_size=self.batch_size, shuffle=False, drop_last=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(BarsDataset(32, self.seed + 1), batch_size=16)


def tiny_clip(**kwargs) -> CLIP:
    torch.manual_seed(0)
    image = ResNetImageTower(channels=1, image_size=16, width=8, blocks=(1, 1))
    text = TransformerTextEncoder(width=16, layers=1, heads=2, vocab_size=300, max_length=16)
    options = {"embed_dim": 16, "lr": 3e-3, "warmup_steps": 2, "weight_decay": 0.0} | kwargs
    return CLIP(image_tower=image, text_tower=text, **options)
