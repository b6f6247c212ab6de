"""Stand-in for the Rust `safetensors` package: only what diffusers' local
loading calls, `safetensors.torch.load_file`, written here in Python."""
