"""Stand-in for transformers.modeling_utils.PreTrainedModel: an nn.Module that
holds its config. No weight initialisation: every weight is loaded with
load_state_dict(strict=True) before use."""
from torch import nn


class PreTrainedModel(nn.Module):
    def __init__(self, config, *inputs, **kwargs):
        super().__init__()
        self.config = config

    def post_init(self):
        pass
