"""Stand-in for huggingface_hub: nothing is downloaded or uploaded here, so
every hub function is a placeholder (see _placeholder.py); constants point at
a directory that is never used."""
from _placeholder import module_getattr

__version__ = "0.20.3"
__getattr__ = module_getattr(__name__)
