"""Stand-in for tqdm.auto."""
from . import tqdm, trange  # noqa: F401
