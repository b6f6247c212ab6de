"""Stand-in for regex: open_clip's tokenizer imports it; the goldens pass token ids."""
from _placeholder import module_getattr

__getattr__ = module_getattr(__name__)
