"""Plain torch building blocks (never imports lightning)."""

from lightning_gen.nn.bigbigan import BigBiGANDiscriminator, BigBiGANEncoder
from lightning_gen.nn.biggan import BigGANDiscriminator, BigGANGenerator
from lightning_gen.nn.cogan import CoupledDiscriminator, CoupledGenerator
from lightning_gen.nn.conditioning import LabelEmbedding
from lightning_gen.nn.cyclegan import PatchGANDiscriminator, ResnetGenerator
from lightning_gen.nn.dcgan import DCGANDiscriminator, DCGANEncoder, DCGANGenerator
from lightning_gen.nn.image_pool import ImagePool
from lightning_gen.nn.init import normal_init_
from lightning_gen.nn.maxout import Maxout, MaxoutDiscriminator
from lightning_gen.nn.mlp import MLPDiscriminator, MLPEncoder, MLPGenerator
from lightning_gen.nn.prior import DiffusionPriorNetwork
from lightning_gen.nn.spec import Network, build_network, network_spec
from lightning_gen.nn.unclip_decoder import ImageEmbeddingUNet
from lightning_gen.nn.unet import UNetDenoiser
from lightning_gen.nn.unet_text import TextConditionalUNet

__all__ = [
    "CoupledDiscriminator",
    "CoupledGenerator",
    "BigBiGANDiscriminator",
    "BigBiGANEncoder",
    "BigGANDiscriminator",
    "BigGANGenerator",
    "DCGANDiscriminator",
    "DCGANEncoder",
    "DCGANGenerator",
    "DiffusionPriorNetwork",
    "ImageEmbeddingUNet",
    "ImagePool",
    "LabelEmbedding",
    "MLPDiscriminator",
    "MLPEncoder",
    "Maxout",
    "MaxoutDiscriminator",
    "MLPGenerator",
    "Network",
    "PatchGANDiscriminator",
    "ResnetGenerator",
    "TextConditionalUNet",
    "UNetDenoiser",
    "build_network",
    "network_spec",
    "normal_init_",
]
