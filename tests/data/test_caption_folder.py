"""ImageCaptionFolderDataModule: a user's captioned folder (metadata.jsonl or a CSV); bad lines are named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from lightning_gen.data import ImageCaptionFolderDataModule, read_caption_metadata
from lightning_gen.data.transforms import center_crop_resize
from lightning_gen.utils.images import load_image
from tests.data.writers import write_image

CAPTIONS = [
    "a red square",
    "a cat, sleeping",
    'a "quoted" dog',
    "the sea at night",
    "two birds",
    "a lone tree",
]


def _folder(root: Path) -> list[str]:
    """Six random images of varied sizes and formats, some nested; returns their file names."""
    names = [f"{'nested/' if i % 2 else ''}{i}.{'png' if i < 3 else 'jpg'}" for i in range(len(CAPTIONS))]
    for i, name in enumerate(names):
        write_image(root / name, (24 + 4 * i, 20 + 2 * i), seed=i)
    return names


def _jsonl(root: Path, records: list[dict | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path = root / "metadata.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _csv(root: Path, lines: list[str], name: str = "captions.csv") -> Path:
    path = root / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_jsonl_items_are_the_files_with_their_captions(tmp_path: Path) -> None:
    names = _folder(tmp_path)
    _jsonl(tmp_path, [{"file_name": n, "text": t, "extra": 1} for n, t in zip(names, CAPTIONS, strict=True)])
    dm = ImageCaptionFolderDataModule(str(tmp_path), image_size=16, val_fraction=1 / 3, batch_size=2, seed=3)
    dm.setup()
    train, val = dm.train_set, dm.val_set
    assert len(train) == 4 and len(val) == 2 and set(train.indices).isdisjoint(val.indices)
    for index in range(len(CAPTIONS)):
        item = train.dataset[index]
        expected = center_crop_resize(load_image(tmp_path / names[index], "RGB"), 16)
        assert item["text"] == CAPTIONS[index] and torch.equal(item["image"], expected)
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"image", "text"} and batch["image"].shape == (2, 3, 16, 16)
    assert all(text in CAPTIONS for text in batch["text"])
    assert sorted(dm.training_captions()) == sorted(CAPTIONS[i] for i in train.indices)
    assert (dm.channels, dm.image_size, dm.num_classes) == (3, 16, 0)
    gray = ImageCaptionFolderDataModule(str(tmp_path), image_size=8, channels=1, batch_size=2)
    assert next(iter(gray.val_dataloader()))["image"].shape[1:] == (1, 8, 8)


@pytest.mark.parametrize("name", ["captions.csv", "metadata.csv"])
def test_csv_with_quoted_commas(tmp_path: Path, name: str) -> None:
    names = _folder(tmp_path)
    quoted = ['"' + t.replace('"', '""') + '"' for t in CAPTIONS]
    _csv(tmp_path, ["file_name,text"] + [f"{n},{q}" for n, q in zip(names, quoted, strict=True)], name)
    rows = read_caption_metadata(tmp_path)
    assert [r.text for r in rows] == CAPTIONS and [r.line for r in rows] == list(range(2, 8))
    assert rows[1].path == tmp_path / names[1]


@pytest.mark.shared_data
def test_real_cifar_images_with_captions(tmp_path: Path, real_cifar_jpegs: Path) -> None:
    files = sorted((real_cifar_jpegs / "train" / "horse").glob("*.jpg"))[:4]
    (tmp_path / "horse").mkdir()
    for f in files:
        shutil.copy(f, tmp_path / "horse" / f.name)
    _jsonl(tmp_path, [{"file_name": f"horse/{f.name}", "text": f"a horse, photo {f.stem}"} for f in files])
    dm = ImageCaptionFolderDataModule(str(tmp_path), image_size=32, batch_size=2, val_fraction=0.25)
    batch = next(iter(dm.val_dataloader()))
    index = dm.val_set.indices[0]
    assert batch["text"] == [f"a horse, photo {files[index].stem}"] and batch["image"].shape == (1, 3, 32, 32)
    assert torch.equal(batch["image"][0], load_image(files[index], "RGB"))  # 32x32 CIFAR kept as is


@pytest.mark.parametrize(
    ("lines", "pattern"),
    [
        (
            ['{"file_name": "0.png", "text": "ok"}', '{"file_name": "1.png", "text": }'],
            r"line 2: not valid JSON",
        ),
        (
            ['{"file_name": "0.png", "text": "ok"}', "", '["1.png", "x"]'],
            r"line 3: a JSON list, not an object",
        ),
        (['{"file_name": "missing.png", "text": "x"}'], r"line 1: image .*missing\.png does not exist"),
        (
            ['{"file_name": "0.png", "text": "ok"}', '{"file_name": "0.png", "text": "  "}'],
            r"line 2: the caption",
        ),
        (['{"file_name": "0.png"}'], r"line 1: no 'text' field \(fields: 'file_name'\)"),
        (['{"text": "x"}'], r"line 1: no 'file_name' field"),
        (['{"file_name": "0.png", "caption": "x"}'], r"line 1: no 'text' field.*caption_column"),
    ],
)
def test_bad_jsonl_line_is_named(tmp_path: Path, lines: list[str], pattern: str) -> None:
    write_image(tmp_path / "0.png", seed=0)
    _jsonl(tmp_path, lines)
    with pytest.raises(ValueError, match=r"metadata\.jsonl, line \d+: .*Fix: ") as info:
        ImageCaptionFolderDataModule(str(tmp_path)).setup("fit")
    assert info.match(pattern) and str(tmp_path) in str(info.value)


def test_other_caption_column_needs_caption_column(tmp_path: Path) -> None:
    names = _folder(tmp_path)
    _csv(
        tmp_path,
        ["file_name,caption"] + [f"{n},{t.split(',')[0]}" for n, t in zip(names, CAPTIONS, strict=True)],
    )
    with pytest.raises(
        ValueError, match=r"captions\.csv, line 1: the header has no 'text' column.*caption_column"
    ):
        read_caption_metadata(tmp_path)
    assert read_caption_metadata(tmp_path, caption_column="caption")[2].text == 'a "quoted" dog'
    _csv(tmp_path, ["file_name,text", f"{names[0]},a cat", f"{names[1]},", f"{names[2]},a dog,extra"])
    with pytest.raises(ValueError, match=r"captions\.csv, line 3: the caption 'text' is empty"):
        read_caption_metadata(tmp_path)


def test_corrupt_image_names_file_and_line(tmp_path: Path) -> None:
    names = _folder(tmp_path)
    (tmp_path / names[4]).write_bytes(b"not a jpeg at all")
    _jsonl(tmp_path, [{"file_name": n, "text": t} for n, t in zip(names, CAPTIONS, strict=True)])
    dm = ImageCaptionFolderDataModule(str(tmp_path), val_fraction=0.5, batch_size=6)
    dm.setup()
    dataset = dm.train_set.dataset
    assert dataset[3]["text"] == CAPTIONS[3]
    with pytest.raises(ValueError, match=rf"metadata\.jsonl, line 5: Cannot read image .*{names[4]}"):
        dataset[4]


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        read_caption_metadata(tmp_path / "absent")
    _folder(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no caption metadata: expected one of metadata\.jsonl"):
        read_caption_metadata(tmp_path)
    _jsonl(tmp_path, [""])
    with pytest.raises(ValueError, match="has no captioned images"):
        read_caption_metadata(tmp_path)
    _csv(tmp_path, ["file_name,text"])
    with pytest.raises(ValueError, match="several metadata files"):
        read_caption_metadata(tmp_path)
    with pytest.raises(ValueError, match=r"val_fraction must be in \(0, 1\)"):
        ImageCaptionFolderDataModule(str(tmp_path), val_fraction=0)
    with pytest.raises(ValueError, match="channels=2"):
        ImageCaptionFolderDataModule(str(tmp_path), channels=2)


def test_a_clip_text_tower_fits_its_tokenizer_on_the_folders_training_captions(tmp_path: Path) -> None:
    """A user's own captioned folder trains a CLIP whose tokenizer is fitted on that folder's train captions."""
    import lightning.pytorch as pl

    from lightning_gen.models.clip import CLIP
    from lightning_gen.nn.image_towers import ResNetImageTower
    from lightning_gen.nn.text.transformer import TransformerTextEncoder

    names = _folder(tmp_path)
    _jsonl(tmp_path, [{"file_name": n, "text": t} for n, t in zip(names, CAPTIONS, strict=True)])
    dm = ImageCaptionFolderDataModule(str(tmp_path), image_size=16, channels=1, val_fraction=1 / 3, batch_size=2)
    text = TransformerTextEncoder(width=16, layers=1, heads=2, vocab_size=300, max_length=16)
    model = CLIP(ResNetImageTower(channels=1, image_size=16, width=8, blocks=(1, 1)), text, embed_dim=8)
    assert not text.tokenizer_fitted
    pl.Trainer(max_steps=1, limit_val_batches=0, logger=False, enable_checkpointing=False,
               enable_progress_bar=False, enable_model_summary=False).fit(model, datamodule=dm)  # fmt: skip
    assert text.tokenizer_fitted
    # BPE merges learnt from the folder's captions: a training caption takes fewer tokens than an unseen string
    _, seen_mask = text.tokenizer.encode([max(dm.training_captions(), key=len)])
    _, unseen_mask = text.tokenizer.encode(["xqzv jkwp yqgb"])
    assert int(seen_mask.sum()) < int(unseen_mask.sum())
