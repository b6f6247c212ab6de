"""LoRA goldens: tests/data/lora/ (see tests/reference/README_lora.md).

One tiny SD 1.x-like checkpoint (single-file LDM layout, F16, UNet plus a
2-layer CLIP text model) and, per case, LoRA files in the exact key layout of
one format, the ΔW every targeted weight receives at multiplier 1 and the
UNet eps at multipliers 0.7 and 1.0, all from the float64 reference in
lora.py on the stored (rounded) values."""
import json
import os
import shutil

import torch

from . import lora as ref
from . import safetensors_io as st
from .clip_text import CLIPTextConfig, CLIPTextModel
from .golden_common import dir_size, engine_check, rel_l2, write_json
from .golden_lora_cases import LoraFileSpec, Mod, cases
from .init import load_into, random_weights
from .unet import UNet, UNetConfig
from .unet_names import LDM_PREFIX, ldm_to_diffusers

TE_PREFIX = "cond_stage_model.transformer."

TINY = UNetConfig(model_channels=32, channel_mult=(1, 1), num_res_blocks=1, attention_levels=(0, 1),
                  num_heads=8, head_dim=None, transformer_depth=1, context_dim=32,
                  use_linear_in_transformer=False)
TINY_TE = CLIPTextConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=16)
MODEL_SEED = 5005
MULTIPLIERS = (0.7, 1.0)

# ------------------------------------------------------------------ the tiny model

def build_model():
    unet = UNet(TINY)
    te = CLIPTextModel(TINY_TE)
    u_names = [(k, v.shape) for k, v in unet.state_dict().items()]
    t_names = [(k, v.shape) for k, v in te.state_dict().items()]
    u = {k: st.round_to(v, "F16") for k, v in random_weights(u_names, MODEL_SEED).items()}
    t = {k: st.round_to(v, "F16") for k, v in random_weights(t_names, MODEL_SEED + 1).items()}
    return unet, u, t


def unet_targets(unet, u):
    """diffusers module name -> (LDM module name, weight shape) for every UNet weight."""
    name_map = ldm_to_diffusers(unet)
    out = {}
    for ldm, w in u.items():
        if ldm.endswith(".weight"):
            out[name_map[ldm][:-7]] = (ldm[:-7], tuple(w.shape))
    return out


# ------------------------------------------------------------------ tensors of one module

def _randn(g, shape, std):
    return torch.randn(shape, generator=g, dtype=torch.float32) * std


def make_tensors(m: Mod, wshape, w0, g):
    """Random adapter tensors for a weight of shape wshape (role -> float32)."""
    out_c = wshape[0]
    rest = wshape[1:]
    in_c = rest[0] if rest else 1
    kk = rest[1:] if len(rest) > 1 else ()
    fan_in = 1
    for d in rest:
        fan_in *= d
    target_std = m.gain / fan_in ** 0.5     # ΔW element size before alpha / rank
    r = m.rank
    t = {}
    k = m.kind
    if k == "lora":
        if kk:   # conv: kohya LoCon down [r, in, kh, kw], up [out, r, 1, 1]
            t["lora_down"] = _randn(g, (r, in_c) + kk, 1 / fan_in ** 0.5)
            t["lora_up"] = _randn(g, (out_c, r, 1, 1), m.gain / r ** 0.5)
        else:
            t["lora_down"] = _randn(g, (r, in_c), 1 / in_c ** 0.5)
            t["lora_up"] = _randn(g, (out_c, r), m.gain / r ** 0.5)
    elif k == "locon_cp":
        t["lora_down"] = _randn(g, (r, in_c, 1, 1), 1 / in_c ** 0.5)
        t["lora_mid"] = _randn(g, (r, r) + kk, 1 / (r * kk[0] * kk[1]) ** 0.5)
        t["lora_up"] = _randn(g, (out_c, r, 1, 1), m.gain / r ** 0.5)
    elif k in ("loha", "loha_cp"):
        f = target_std ** 0.5    # each Hadamard factor ~ sqrt of the target
        if k == "loha_cp":
            for i in ("1", "2"):
                t[f"hada_w{i}_a"] = _randn(g, (r, out_c), 1.0)
                t[f"hada_w{i}_b"] = _randn(g, (r, in_c), f)
                t[f"hada_t{i}"] = _randn(g, (r, r) + kk, 1 / r)
        else:
            n = fan_in
            for i in ("1", "2"):
                t[f"hada_w{i}_a"] = _randn(g, (out_c, r), 1.0)
                t[f"hada_w{i}_b"] = _randn(g, (r, n), f / r ** 0.5)
    elif k.startswith("lokr"):
        # kron factors: out = a·c, in = b·d (w1 is the small one, as LyCORIS factorises)
        a, b = 2, 2
        c, d = out_c // a, in_c // b
        f = target_std ** 0.5
        if k in ("lokr_full_w1", "lokr_full"):
            t["lokr_w1"] = _randn(g, (a, b), f)
        else:
            t["lokr_w1_a"] = _randn(g, (a, r), 1.0)
            t["lokr_w1_b"] = _randn(g, (r, b), f / r ** 0.5)
        if k in ("lokr_full_w2", "lokr_full"):
            t["lokr_w2"] = _randn(g, (c, d) + kk, f)
        elif k == "lokr_cp":
            t["lokr_w2_a"] = _randn(g, (r, c), 1.0)
            t["lokr_w2_b"] = _randn(g, (r, d), f)
            t["lokr_t2"] = _randn(g, (r, r) + kk, 1 / r)
        else:
            dd = d
            for x in kk:
                dd *= x
            t["lokr_w2_a"] = _randn(g, (c, r), 1.0)
            t["lokr_w2_b"] = _randn(g, (r, dd), f / r ** 0.5)
    elif k == "diff":
        t["diff"] = _randn(g, wshape, target_std)
    else:
        raise ValueError(k)
    if m.bias:
        t["diff_b" if k == "diff" else "lora_B.bias"] = _randn(g, (out_c,), 0.05)
    if m.alpha is not None:
        t["alpha"] = torch.tensor(float(m.alpha))
    if m.scale is not None:
        t["scale"] = torch.tensor(float(m.scale))
    if m.dora:
        # magnitudes near the weight's own norms, so that DoRA stays a modest change
        w = w0.double()
        if m.dora == "out":
            norm = w.reshape(out_c, -1).norm(dim=1).reshape((out_c,) + (1,) * (len(wshape) - 1))
        else:
            norm = w.transpose(0, 1).reshape(in_c, -1).norm(dim=1).reshape((1, in_c) + (1,) * (len(wshape) - 2))
        t["dora_scale"] = (norm * (1 + 0.1 * torch.randn(norm.shape, generator=g, dtype=torch.float64))).float()
    return t


# ------------------------------------------------------------------ key spellings

KOHYA_SUFFIX = {
    "lora_down": ".lora_down.weight", "lora_up": ".lora_up.weight", "lora_mid": ".lora_mid.weight",
    "alpha": ".alpha", "scale": ".scale", "dora_scale": ".dora_scale", "diff": ".diff", "diff_b": ".diff_b",
}
PEFT_SUFFIX = {"lora_down": ".lora_A.weight", "lora_up": ".lora_B.weight", "lora_B.bias": ".lora_B.bias",
               "dora_scale": ".lora_magnitude_vector", "alpha": ".alpha"}
DIFFUSERS_SUFFIX = {"lora_down": ".lora.down.weight", "lora_up": ".lora.up.weight", "alpha": ".alpha"}
DIFFUSERS_TE_SUFFIX = {"lora_down": ".lora_linear_layer.down.weight",
                       "lora_up": ".lora_linear_layer.up.weight", "alpha": ".alpha"}


def file_keys(spec: LoraFileSpec, m: Mod, roles, ldm_of):
    """role -> tensor name in the file."""
    comp = m.component
    if spec.layout in ("kohya", "kohya_ldm"):
        path = ldm_of[m.target] if (spec.layout == "kohya_ldm" and comp == "unet") else m.target
        base = ("lora_unet_" if comp == "unet" else "lora_te_") + ref.underscore(path)
        return {r: base + KOHYA_SUFFIX.get(r, "." + r) for r in roles}
    prefix = "unet." if comp == "unet" else "text_encoder."
    if spec.layout == "peft":
        return {r: prefix + m.target + PEFT_SUFFIX[r] for r in roles}
    if spec.layout == "diffusers":
        suffixes = DIFFUSERS_SUFFIX if comp == "unet" else DIFFUSERS_TE_SUFFIX
        return {r: prefix + m.target + suffixes[r] for r in roles}
    if spec.layout == "diffusers_procs":  # old attention processors: ….attn1.processor.to_q_lora.down.weight
        block, leaf = m.target.rsplit(".", 1) if not m.target.endswith("to_out.0") else (m.target[:-9], "to_out")
        return {r: prefix + block + ".processor." + leaf + "_lora" + {"lora_down": ".down.weight",
                                                                      "lora_up": ".up.weight"}[r] for r in roles}
    raise ValueError(spec.layout)


def stored_roles(t, m: Mod, spec: LoraFileSpec):
    """The roles that are stored as tensors (PEFT files carry alphas in metadata)."""
    roles = list(t)
    if spec.peft_meta is not None:
        roles = [r for r in roles if r != "alpha"]
    return roles


# ------------------------------------------------------------------ writing and the reference

def write_all(out_root, log=print, only=None):
    root = os.path.join(out_root, "lora")
    unet, u, t = build_model()
    targets = unet_targets(unet, u)          # diffusers module -> (LDM module, shape)
    ldm_of = {k: v[0] for k, v in targets.items()}
    te_targets = {k[:-7]: tuple(v.shape) for k, v in t.items() if k.endswith(".weight")}

    os.makedirs(root, exist_ok=True)
    model_tensors = {LDM_PREFIX + k: v for k, v in sorted(u.items())}
    model_tensors.update({TE_PREFIX + k: v for k, v in sorted(t.items())})
    st.write(os.path.join(root, "model.safetensors"), model_tensors, default_dtype="F16")

    g = torch.Generator().manual_seed(MODEL_SEED + 7)
    x = torch.randn((1, TINY.in_channels, 8, 8), generator=g)
    ctx = torch.randn((1, 8, TINY.context_dim), generator=g)
    ts = torch.tensor([500.0])
    base_eps = run_unet(unet, u, x, ts, ctx)
    st.write(os.path.join(root, "io.safetensors"), {"x": x, "t": ts, "context": ctx, "eps": base_eps.float()})

    metas = []
    for case in cases(list(targets), TINY_TE.num_hidden_layers):
        if only and case.name not in only:
            continue
        metas.append(write_case(case, root, unet, u, t, targets, ldm_of, te_targets, x, ts, ctx, base_eps, log))
    log(f"lora/: {dir_size(root) / 1e6:.2f} MB in all")
    return metas


def run_unet(unet, weights, x, ts, ctx):
    model = unet.double()
    load_into(model, {k: v.double() for k, v in weights.items()})
    with torch.no_grad():
        return model(x.double(), ts.double(), ctx.double())


def write_case(case, root, unet, u, t, targets, ldm_of, te_targets, x, ts, ctx, base_eps, log):
    cdir = os.path.join(root, case.name)
    if os.path.isdir(cdir):
        shutil.rmtree(cdir)
    os.makedirs(cdir)
    g = torch.Generator().manual_seed(case.seed)

    # ---- write the files; read them back (stored values) for the reference
    loaded = []   # (spec, [(mod, roles -> float64 tensor)])
    files_meta = []
    for spec in case.files:
        tensors, dtypes = {}, {}
        for m in spec.mods:
            shape = targets[m.target][1] if m.component == "unet" else te_targets[m.target]
            w0 = (u[targets[m.target][0] + ".weight"] if m.component == "unet" else t[m.target + ".weight"])
            tt = make_tensors(m, shape, w0, g)
            roles = stored_roles(tt, m, spec)
            keys = file_keys(spec, m, roles, ldm_of)
            for r in roles:
                v = tt[r]
                if spec.layout == "peft" and r == "dora_scale":
                    v = v.reshape(-1)   # PEFT's lora_magnitude_vector is [out]
                tensors[keys[r]] = v
                dtypes[keys[r]] = spec.dtype
        metadata = dict(spec.metadata)
        if spec.peft_meta is not None:
            metadata["lora_adapter_metadata"] = json.dumps(spec.peft_meta, indent=2, sort_keys=True)
        path = os.path.join(cdir, spec.name + ".safetensors")
        st.write(path, dict(sorted(tensors.items())), dtypes, metadata=metadata or None)
        back = read_back(path)
        mods = []
        for m in spec.mods:
            shape = targets[m.target][1] if m.component == "unet" else te_targets[m.target]
            roles = [r for r in make_roles(m, shape)]
            keys = file_keys(spec, m, roles, ldm_of)
            mods.append((m, {r: back[keys[r]].double() for r in roles if keys[r] in back}))
        loaded.append((spec, mods))
        files_meta.append({"file": spec.name + ".safetensors", "layout": spec.layout, "dtype": spec.dtype,
                           "factor_unet": spec.unet, "factor_text_encoder": spec.te,
                           "modules": len(spec.mods),
                           "modules_unet": sum(m.component == "unet" for m in spec.mods),
                           "modules_text_encoder": sum(m.component == "text_encoder" for m in spec.mods)})

    # ---- reference: patched weights at each multiplier
    def patched(mult):
        w_u = {k: v.double() for k, v in u.items()}
        w_t = {k: v.double() for k, v in t.items()}
        base_u = {k: v.clone() for k, v in w_u.items()}
        base_t = {k: v.clone() for k, v in w_t.items()}
        for spec, mods in loaded:
            for m, tt in mods:
                f = mult * (spec.unet if m.component == "unet" else spec.te)
                if m.component == "unet":
                    wname, bname, W, B = targets[m.target][0] + ".weight", targets[m.target][0] + ".bias", w_u, base_u
                else:
                    wname, bname, W, B = m.target + ".weight", m.target + ".bias", w_t, base_t
                kind = ref.kind_of(tt)
                alpha = peft_alpha(spec, m)
                W[wname] = ref.apply_module(W[wname], B[wname], kind, tt, f, alpha=alpha)
                if m.bias:
                    W[bname] = ref.apply_bias(W[bname], kind, tt, f, alpha=alpha)
        return w_u, w_t

    golden = {}
    name_map = ldm_to_diffusers(unet)
    w_u1, w_t1 = patched(1.0)
    touched_u = sorted({k for k in u if not torch.equal(w_u1[k], u[k].double())})
    touched_t = sorted({k for k in t if not torch.equal(w_t1[k], t[k].double())})
    # Every patched name goes into case.json (coverage); the ΔW values of one tensor per (component,
    # shape, module kind) group go into golden.safetensors (the eps checks the rest), to keep goldens small.
    kinds = {}
    for spec, mods in loaded:
        for m, tt in mods:
            w = targets[m.target][0] if m.component == "unet" else m.target
            kinds.setdefault((m.component, w), set()).add(m.kind + ("+dora" if m.dora else ""))
    seen = set()
    for comp, names, w1, w0 in (("unet", touched_u, w_u1, u), ("text_encoder", touched_t, w_t1, t)):
        for k in names:
            mod = k.rsplit(".", 1)[0]
            group = (comp, tuple(w0[k].shape), k.endswith(".bias"), tuple(sorted(kinds.get((comp, mod), ()))))
            if group in seen:
                continue
            seen.add(group)
            cname = name_map[k] if comp == "unet" else k
            golden[f"delta.{comp}.{cname}"] = (w1[k] - w0[k].double()).float()
    effects = {}
    for mult in MULTIPLIERS:
        w_u, _ = patched(mult)
        eps = run_unet(unet, w_u, x, ts, ctx)
        golden[f"eps.m{mult}"] = eps.float()
        effects[str(mult)] = rel_l2(eps, base_eps)
    st.write(os.path.join(cdir, "golden.safetensors"), golden)

    meta = {
        "name": case.name,
        "kind": "lora",
        "description": case.description,
        "model": "../model.safetensors",
        "io": "../io.safetensors",
        "files": files_meta,
        "multipliers": list(MULTIPLIERS),
        "multiplier_rule": ("file i is applied with UNet multiplier m × factor_unet and text-encoder multiplier "
                            "m × factor_text_encoder, for m in `multipliers`"),
        "deltas": "delta.<component>.<canonical weight name> = W' − W at m = 1.0 (F32 of a float64 reference)",
        "patched": {"unet": sorted(name_map[k] for k in touched_u), "text_encoder": touched_t},
        "num_deltas_stored": sum(k.startswith("delta.") for k in golden),
        "eps": "eps.m<m>: UNet eps of the patched model on io.safetensors x, t, context",
        "eps_change_vs_base": effects,
        "dora_convention": "W + m·(W_DoRA − W), W = the weight before any LoRA",
        "check": engine_check(case.name, {"metric": "relative L2 per delta tensor and for eps"}),
    }
    write_json(os.path.join(cdir, "case.json"), meta)
    log(f"lora/{case.name}: {len(touched_u) + len(touched_t)} patched tensors ({meta['num_deltas_stored']} stored), eps change "
        + ", ".join(f"{k}: {v:.3f}" for k, v in effects.items()) + f", {dir_size(cdir) / 1e3:.0f} kB")
    return meta


def read_back(path):
    """name -> float32 tensor of a file we wrote (safetensors_io.read, but also 0-d BF16 scalars,
    which its bit trick cannot view)."""
    import struct
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        raw = data[8 + n + b: 8 + n + e]
        dt = info["dtype"]
        if dt == "BF16":
            arr = st.bf16_bits_to_f32(np.frombuffer(raw, dtype="<u2").reshape(-1))
        else:
            arr = np.frombuffer(raw, dtype={"F16": "<f2", "F32": "<f4"}[dt]).astype(np.float32)
        out[name] = torch.from_numpy(np.array(arr)).reshape(info["shape"])
    return out


def make_roles(m, shape):
    """Every role the module has (including alphas that a PEFT file keeps in metadata)."""
    g = torch.Generator().manual_seed(0)
    w0 = torch.ones(shape)
    return list(make_tensors(m, shape, w0, g))


def peft_alpha(spec, m):
    """The alpha a PEFT file's metadata gives module m (None: use the .alpha tensor rule)."""
    if spec.peft_meta is None:
        return None
    p = spec.peft_meta
    prefix = "unet." if m.component == "unet" else "text_encoder."
    alpha = p.get(prefix + "lora_alpha")
    for pattern, a in (p.get(prefix + "alpha_pattern") or {}).items():
        if ref.peft_pattern_matches(pattern, m.target):
            alpha = a
            break
    return alpha
