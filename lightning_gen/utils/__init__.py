"""Small shared helpers (image conversion, option validation). Never imports lightning."""

from lightning_gen.utils.images import load_image, save_grid, to_uint8
from lightning_gen.utils.validation import check_choice, check_positive

__all__ = ["check_choice", "check_positive", "load_image", "save_grid", "to_uint8"]
