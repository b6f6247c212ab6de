"""Stand-in for huggingface_hub.utils: the decorator is the identity and the
error types are plain exceptions."""
from _placeholder import module_getattr


class EntryNotFoundError(Exception):
    pass


class RepositoryNotFoundError(Exception):
    pass


class RevisionNotFoundError(Exception):
    pass


def validate_hf_hub_args(fn):
    return fn


def is_jinja_available():
    return False


__getattr__ = module_getattr(__name__)
