"""Text encoders for text-to-image models (plain torch + tokenizers/transformers; never imports lightning).

Every encoder maps a list of strings to a :class:`TextEncoding` and owns its tokenizer, so a checkpoint
of a text-conditional model owns the tokenisation of its prompts.
"""

from lightning_gen.nn.text.base import TextEncoder, TextEncoding
from lightning_gen.nn.text.clip_text import CLIPTextEncoder
from lightning_gen.nn.text.tokenizer import BPETokenizer
from lightning_gen.nn.text.transformer import TransformerTextEncoder

__all__ = ["BPETokenizer", "CLIPTextEncoder", "TextEncoder", "TextEncoding", "TransformerTextEncoder"]
