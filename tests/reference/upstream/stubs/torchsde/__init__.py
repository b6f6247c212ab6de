"""Stand-in for torchsde: k-diffusion imports it for its Brownian-tree noise, which the goldens do not use (noise comes from seeded generators)."""
from _placeholder import module_getattr

__getattr__ = module_getattr(__name__)
