"""Stand-in for torchvision: open_clip's image transforms and k-diffusion's utils import it; no image is transformed."""
from _placeholder import module_getattr

__getattr__ = module_getattr(__name__)
