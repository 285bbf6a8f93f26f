"""A bounded LRU cache of per-caption text encodings, for frozen encoders.

A frozen encoder (Saharia et al. 2022 keep T5 frozen, so "text embeddings can be computed offline") maps a
caption to the same features every time, and label-made captions repeat constantly: each distinct caption
is encoded once and its unpadded rows are kept on the CPU. A batch is then assembled by padding the cached
rows to the batch's longest caption, so the result does not depend on which captions share the batch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch

from lightning_gen.nn.text.base import TextEncoding

__all__ = ["EncodingCache"]

#: one caption's encoding: (n, token_dim) real tokens and (pooled_dim,) pooled features, both on the CPU
Entry = tuple[torch.Tensor, torch.Tensor]


class EncodingCache:
    """Least-recently-used map caption -> (tokens without padding, pooled), at most ``max_entries`` captions.

    Args:
        max_entries: captions kept; the least recently used one is evicted beyond it (0 disables caching).
    """

    def __init__(self, max_entries: int = 4096) -> None:
        if max_entries < 0:
            raise ValueError(f"cache_size must be >= 0, got {max_entries}.")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, text: str) -> bool:
        return text in self._entries

    def clear(self) -> None:
        self._entries.clear()

    def encode(
        self, texts: list[str], encode_fn: Callable[[list[str]], TextEncoding], device: torch.device | str
    ) -> TextEncoding:
        """The encoding of ``texts`` on ``device``; ``encode_fn`` runs once on the distinct uncached captions."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._entries))
        fresh: dict[str, Entry] = {}
        if missing:
            encoding = encode_fn(missing)
            for i, text in enumerate(missing):
                real = encoding.mask[i].cpu()
                fresh[text] = (encoding.tokens[i].detach().cpu()[real], encoding.pooled[i].detach().cpu())
        rows = []
        for text in texts:
            entry = fresh.get(text)
            if entry is None:
                entry = self._entries[text]
                self._entries.move_to_end(text)
            rows.append(entry)
        for text, entry in fresh.items():
            self._store(text, entry)
        return _pad(rows).to(device)

    def _store(self, text: str, entry: Entry) -> None:
        if not self.max_entries:
            return
        self._entries[text] = entry
        self._entries.move_to_end(text)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def _pad(rows: list[Entry]) -> TextEncoding:
    """Stack per-caption rows into a padded batch (B, L, D) with its mask (B, L) and pooled (B, Dp)."""
    length = max(tokens.shape[0] for tokens, _ in rows)
    dim = rows[0][0].shape[-1]
    tokens = torch.zeros(len(rows), length, dim, dtype=rows[0][0].dtype)
    mask = torch.zeros(len(rows), length, dtype=torch.bool)
    for i, (row, _) in enumerate(rows):
        tokens[i, : row.shape[0]] = row
        mask[i, : row.shape[0]] = True
    return TextEncoding(tokens, mask, torch.stack([pooled for _, pooled in rows]))
