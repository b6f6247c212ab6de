"""Stand-in for transformers/__init__.py (its lazy import table pulls in the
whole library): the package root of the extracted modules. Copied over the
extraction by sources.py; not upstream code."""
__version__ = "4.19.0.dev0"

# Names other upstream modules import from the package root but the goldens
# never call (Stability-AI's encoders module: T5Tokenizer, CLIPTokenizer, …).
from _placeholder import module_getattr  # noqa: E402

__getattr__ = module_getattr(__name__)
