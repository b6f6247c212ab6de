#!/usr/bin/env python3
"""Writes the committed libFuzzer seed corpus for the safetensors reader
(tests/fuzz/corpus/): small valid files covering every dtype, metadata,
scalars, empty tensors, real-looking checkpoint and LoRA key names, and
near-valid files that break one rule each. Plain Python, no dependencies;
rerun only to change the corpus: python3 tests/fuzz/make_seed_corpus.py
"""
import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "I32": 4, "U32": 4, "I64": 8, "U64": 8,
         "F16": 2, "BF16": 2, "F32": 4, "F64": 8, "F8_E4M3": 1, "F8_E5M2": 1}


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def safetensors(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape); data bytes are a counting pattern."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for name, dtype, shape in tensors:
        n = numel(shape) * SIZES[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + n]}
        data += bytes((len(data) + i) * 37 % 251 for i in range(n))
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def raw(header_text, data=b""):
    text = header_text.encode() if isinstance(header_text, str) else header_text
    return struct.pack("<Q", len(text)) + text + data


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {}
    # Valid files.
    seeds["valid_empty"] = safetensors([])
    seeds["valid_all_dtypes"] = safetensors([(f"t_{d.lower()}", d, [3]) for d in SIZES])
    seeds["valid_scalar_and_empty"] = safetensors([("alpha", "F16", []), ("e", "F32", [0, 4]), ("x", "F32", [2, 2])])
    seeds["valid_metadata"] = safetensors([("w", "F16", [2, 3])],
                                          {"ss_output_name": "skin_4", "ss_epoch": "15", "ss_network_dim": "8",
                                           "ss_network_alpha": "4.0", "ss_base_model_version": "sd_v1"})
    seeds["valid_unpadded"] = safetensors([("w", "BF16", [5])], pad=False)
    seeds["valid_kohya_lora"] = safetensors([
        ("lora_te_text_model_encoder_layers_0_self_attn_q_proj.alpha", "F16", []),
        ("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", "F16", [4, 8]),
        ("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight", "F16", [8, 4]),
        ("lora_unet_down_blocks_0_attentions_0_proj_in.alpha", "F16", []),
        ("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", "F16", [4, 8, 1, 1]),
        ("lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight", "F16", [8, 4, 1, 1]),
        ("lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight", "F16", [2, 8, 3, 3]),
        ("lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight", "F16", [8, 2, 1, 1]),
    ], {"ss_network_module": "networks.lora"})
    seeds["valid_lycoris"] = safetensors([
        ("lora_unet_mid_block_attentions_0_proj_out.hada_w1_a", "F16", [8, 2]),
        ("lora_unet_mid_block_attentions_0_proj_out.hada_w1_b", "F16", [2, 8]),
        ("lora_unet_mid_block_attentions_0_proj_out.hada_w2_a", "F16", [8, 2]),
        ("lora_unet_mid_block_attentions_0_proj_out.hada_w2_b", "F16", [2, 8]),
        ("lora_unet_up_blocks_1_attentions_0_proj_in.lokr_w1", "F16", [2, 2]),
        ("lora_unet_up_blocks_1_attentions_0_proj_in.lokr_w2", "F16", [4, 4]),
        ("lora_unet_up_blocks_1_attentions_0_proj_in.dora_scale", "F16", [8, 1]),
    ])
    seeds["valid_checkpoint_keys"] = safetensors([
        ("model.diffusion_model.input_blocks.0.0.weight", "F16", [4, 4, 3, 3]),
        ("model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", "F16", [4, 8]),
        ("first_stage_model.decoder.conv_in.weight", "F16", [4, 4, 3, 3]),
        ("cond_stage_model.transformer.text_model.embeddings.position_ids", "I64", [1, 7]),
        ("alphas_cumprod", "F32", [10]),
        ("model_ema.num_updates", "I32", []),
    ])
    seeds["valid_peft_lora"] = safetensors([
        ("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight", "F32", [2, 8]),
        ("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight", "F32", [4, 2]),
    ], {"lora_adapter_metadata": json.dumps({"unet.r": 2, "unet.lora_alpha": 1})})
    seeds["valid_unicode"] = safetensors([("\u76ae\u819a.weight", "U8", [2])], {"title": "h\u00e9 \u20ac \U0001f600"})
    seeds["valid_null_metadata"] = raw('{"__metadata__":null,"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x05")
    seeds["valid_out_of_order"] = raw('{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},'
                                      '"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}  ', b"\x01\x02")
    # Near-valid files, one broken rule each.
    seeds["bad_size_mismatch"] = raw('{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}', bytes(8))
    seeds["bad_overlap"] = raw('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
                               '"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}', bytes(6))
    seeds["bad_hole"] = raw('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
                            '"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}', bytes(6))
    seeds["bad_trailing"] = raw('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', bytes(5))
    seeds["bad_duplicate"] = raw('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                                 '"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', bytes(2))
    seeds["bad_overflow"] = raw('{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}}')
    seeds["bad_negative"] = raw('{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}', bytes(1))
    seeds["bad_float_dim"] = raw('{"a":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}', bytes(1))
    seeds["bad_metadata"] = raw('{"__metadata__":{"a":1}}')
    seeds["bad_dtype"] = raw('{"a":{"dtype":"F12","shape":[1],"data_offsets":[0,1]}}', bytes(1))
    seeds["bad_utf8"] = raw(b'{"a\xc3":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', bytes(1))
    seeds["bad_nul"] = raw(b'{}\x00hidden')
    seeds["bad_header_length"] = struct.pack("<Q", 1 << 40) + b"{}"
    seeds["bad_short"] = b"\x02\x00\x00"
    seeds["bad_end_before_begin"] = raw('{"a":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}', bytes(1))
    for old in os.listdir(OUT):
        os.remove(os.path.join(OUT, old))
    for name, data in sorted(seeds.items()):
        with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
            f.write(data)
    print(f"wrote {len(seeds)} seeds to {OUT}")


if __name__ == "__main__":
    main()
