"""Stand-in for huggingface_hub.constants: offline, no cache in use."""
HF_HOME = "/nonexistent/huggingface"
HF_HUB_CACHE = HF_HOME + "/hub"
HF_HUB_OFFLINE = True
HF_HUB_DISABLE_TELEMETRY = True
