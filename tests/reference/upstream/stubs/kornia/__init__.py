"""Stand-in for kornia: Stability-AI's encoders module imports it for image encoders the goldens do not use."""
from _placeholder import module_getattr

__getattr__ = module_getattr(__name__)
