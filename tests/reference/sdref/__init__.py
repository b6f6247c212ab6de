"""sdref: an independent float64 PyTorch reference of the Stable Diffusion 1.x/2.x
UNet, the AutoencoderKL VAE and the CLIP text transformer, written from the
upstream architecture descriptions (see tests/reference/README.md) to produce
the goldens under tests/data/. Offline tooling only: the C++ build and test
suite never run it."""
