#!/usr/bin/python3
"""Text encoder with a kohya text-encoder LoRA, with and without clip skip:
tests/data/lora/text_encoder_lora.safetensors (tests/e2e/test_eval_text_lora.cpp).

    /usr/bin/python3 tests/reference/make_text_lora_golden.py

Reads the tiny checkpoint (2-layer CLIP text model, width 32, 16 positions) and
the kohya LoRA of the LoRA goldens (tests/data/lora/model.safetensors,
kohya_lora/kohya_lora.safetensors: every lora_te_ linear, rank 4, alpha 2),
merges the lora_te_ modules in float64 as kohya-ss sd-scripts
networks/lora.py LoRAModule.merge_to does (W + m * alpha / rank * up @ down,
docs/FORMATS.md, "LoRA formulas") at m = 0.7, and runs the float64 text encoder
(sdref/clip_text.py) on stored ids. Writes `ids` [2, 16] I64 and
`hidden.m0.7` (clip skip 1), `hidden.m0.7.clip_skip_2` (A1111: hidden_states[-2]
then final_layer_norm) and `hidden.m0` (no LoRA, clip skip 1) as F32.
Deterministic: reruns give the same bytes.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

from sdref import lora as ref  # noqa: E402
from sdref import safetensors_io as st  # noqa: E402
from sdref.clip_text import CLIPTextModel  # noqa: E402
from sdref.golden_lora import TE_PREFIX, TINY_TE  # noqa: E402
from sdref.init import load_into  # noqa: E402

MULTIPLIER = 0.7
SEED = 7117


def main():
    data = os.path.normpath(os.path.join(HERE, "..", "data", "lora"))
    model, _, _ = st.read(os.path.join(data, "model.safetensors"))
    lora, _, _ = st.read(os.path.join(data, "kohya_lora", "kohya_lora.safetensors"))
    te_w = {k[len(TE_PREFIX):]: v.double() for k, v in model.items() if k.startswith(TE_PREFIX)}

    g = torch.Generator().manual_seed(SEED)
    T = TINY_TE.max_position_embeddings
    ids = torch.randint(0, TINY_TE.vocab_size, (2, T), generator=g, dtype=torch.int64)

    def encoder(mult):
        w = dict(te_w)
        applied = 0
        for name in sorted(w):
            if not name.endswith(".weight") or w[name].ndim != 2:
                continue
            key = "lora_te_" + ref.underscore(name[:-len(".weight")])
            if key + ".lora_down.weight" not in lora:
                continue
            down = lora[key + ".lora_down.weight"].double()
            up = lora[key + ".lora_up.weight"].double()
            scale = float(lora[key + ".alpha"]) / down.shape[0]
            w[name] = w[name] + mult * scale * (up @ down)
            applied += 1
        assert mult == 0 or applied == 12, applied  # every linear of the 2 layers
        m = CLIPTextModel(TINY_TE).double()
        load_into(m, {k: v for k, v in w.items() if k in m.state_dict()})
        return m.eval()

    with torch.no_grad():
        base = encoder(0.0)
        patched = encoder(MULTIPLIER)
        out = {
            "ids": ids,
            "hidden.m0": base.encode(ids, 1).float(),
            "hidden.m0.7": patched.encode(ids, 1).float(),
            "hidden.m0.7.clip_skip_2": patched.encode(ids, 2).float(),
        }
    d = (out["hidden.m0.7"] - out["hidden.m0"]).norm() / out["hidden.m0"].norm()
    print(f"LoRA changes the hidden state by {float(d):.3f} (relative L2)")
    st.write(os.path.join(data, "text_encoder_lora.safetensors"), out, dtypes={"ids": "I64"},
             metadata={"about": "tests/reference/make_text_lora_golden.py", "multiplier": str(MULTIPLIER)})


if __name__ == "__main__":
    main()
