"""Stand-in for huggingface_hub.file_download."""
from _placeholder import module_getattr

REGEX_COMMIT_HASH = r"^[0-9a-f]{40}$"
__getattr__ = module_getattr(__name__)
