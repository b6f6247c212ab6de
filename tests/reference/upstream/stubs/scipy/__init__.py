"""Stand-in for scipy: k-diffusion's sampling module imports scipy.integrate for the LMS coefficients, a sampler the goldens do not run."""
from _placeholder import module_getattr

__getattr__ = module_getattr(__name__)
