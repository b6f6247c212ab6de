"""Stand-in for filelock: diffusers checks that the distribution exists; nothing locks files here."""
from _placeholder import module_getattr

__getattr__ = module_getattr(__name__)
