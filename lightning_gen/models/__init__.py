"""One LightningModule per method. Each takes its networks as constructor arguments."""

from lightning_gen.models.autoencoder import AutoEncoder
from lightning_gen.models.base import GenerativeModule, NonFiniteLossError, read_checkpoint_info
from lightning_gen.models.bigbigan import BigBiGAN
from lightning_gen.models.biggan import BigGAN
from lightning_gen.models.cascade import ImageConditionedDDPM, SuperResolutionDDPM
from lightning_gen.models.clip import CLIP, clip_fingerprint, load_frozen_clip
from lightning_gen.models.cogan import CoGAN
from lightning_gen.models.colorization import ColorizationDDPM
from lightning_gen.models.conditional_gan import ConditionalGAN
from lightning_gen.models.cyclegan import CycleGAN
from lightning_gen.models.ddpm import DDPM
from lightning_gen.models.gan import GAN, truncated_noise
from lightning_gen.models.text_to_image import TextSuperResolutionDDPM, TextToImageDDPM
from lightning_gen.models.unclip_clip import CLIPMismatchError
from lightning_gen.models.unclip_decoder import UnCLIPDecoder
from lightning_gen.models.unclip_prior import UnCLIPPrior
from lightning_gen.models.unrolled_gan import UnrolledGAN

__all__ = [
    "CLIP",
    "CLIPMismatchError",
    "GAN",
    "AutoEncoder",
    "CoGAN",
    "ColorizationDDPM",
    "CycleGAN",
    "DDPM",
    "BigBiGAN",
    "BigGAN",
    "clip_fingerprint",
    "ConditionalGAN",
    "GenerativeModule",
    "ImageConditionedDDPM",
    "load_frozen_clip",
    "NonFiniteLossError",
    "read_checkpoint_info",
    "SuperResolutionDDPM",
    "TextSuperResolutionDDPM",
    "TextToImageDDPM",
    "truncated_noise",
    "UnCLIPDecoder",
    "UnCLIPPrior",
    "UnrolledGAN",
]
