"""Stand-in for transformers.configuration_utils.PretrainedConfig: keeps the
keyword arguments as attributes, with the defaults of the real class for the
output switches the CLIP forward reads."""


class PretrainedConfig:
    def __init__(self, **kwargs):
        self.output_hidden_states = kwargs.pop("output_hidden_states", False)
        self.output_attentions = kwargs.pop("output_attentions", False)
        self.return_dict = kwargs.pop("return_dict", True)
        for k, v in kwargs.items():
            setattr(self, k, v)

    @property
    def use_return_dict(self):
        return self.return_dict
