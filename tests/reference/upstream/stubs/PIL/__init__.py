"""Stand-in for Pillow: the goldens pass tensors, never images."""
from _placeholder import module_getattr

__version__ = "9.4.0"
__getattr__ = module_getattr(__name__)
