"""Stand-in for einops: imported by Stability-AI modules the goldens load but do not run."""
from _placeholder import module_getattr

__getattr__ = module_getattr(__name__)
