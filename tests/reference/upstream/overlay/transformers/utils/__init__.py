"""Stand-in for transformers.utils: what modeling_clip.py, activations.py and
modeling_outputs.py import from it. Docstring decorators are the identity;
ModelOutput keeps the one behaviour the CLIP code relies on, indexing the
fields that are not None in declaration order."""
import logging as _logging
from collections import OrderedDict
from dataclasses import fields


class logging:  # noqa: N801  (module-like: transformers.utils.logging.get_logger)
    get_logger = staticmethod(_logging.getLogger)


def _identity_factory(*args, **kwargs):
    return lambda fn: fn


add_start_docstrings = add_start_docstrings_to_model_forward = replace_return_docstrings = _identity_factory
add_code_sample_docstrings = _identity_factory


class ModelOutput(OrderedDict):
    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if v is not None:
                self[f.name] = v

    def __getitem__(self, k):
        if isinstance(k, str):
            return dict(self.items())[k]
        return self.to_tuple()[k]

    def to_tuple(self):
        return tuple(self[k] for k in self.keys())
