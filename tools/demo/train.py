#!/usr/bin/python3
"""Trains the demo model and writes models/demo/ (issue 7, stage 2).

  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \\
      /usr/bin/python3 tools/demo/train.py [--work /tmp/skingen_demo] [--stage all|data|vae|latents|decoder|text|unet|export|lora]

(train.py re-executes itself with that LD_LIBRARY_PATH when it is missing.)
Stages, each resumable from checkpoints in --work (every 250 steps):
  data     45,000 generator textures 64x64 (seed 5151), captions, token ids
  vae      AutoencoderKL (vae_stage.py), gate: classifier on reconstructions
  latents  scale folding (latents x 0.18215 get unit variance), posterior of every image
  decoder  decoder-only fine-tuning, spectral loss at the end (decoder_stage.py)
  text     text encoder pretrained on caption -> class and image features, then frozen (text_stage.py)
  unet     UNet with the frozen text encoder (diffusion_stage.py), EMA weights kept
  export   F16 single-file checkpoint + tokenizer -> --out
  lora     skin LoRA on the exported (F16) base (lora_stage.py) -> --out
With --stage all, two stages run in a second process beside the main line,
as none of these keeps both cores busy (≈ 1.5 of 2): text beside vae and
latents (it needs only the captions and images), decoder beside unet (the
encoder is frozen after the latents stage).
Then: evaluate_engine.py (the quality numbers in models/demo/README.md, on
skingen's own outputs), render_references.py (test references),
verify_engine.py (skingen loads and matches every part).
Seeds are fixed; 2 threads. oneDNN/OpenBLAS are deterministic in practice for a
fixed thread count but not guaranteed bit-exact: the shipped files, not a re-run,
are the reference for the C++ tests.
"""
import os
import sys

OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
if os.path.isdir(OPENBLAS_DIR) and OPENBLAS_DIR not in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = ":".join(p for p in (OPENBLAS_DIR, env.get("LD_LIBRARY_PATH")) if p)
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import argparse  # noqa: E402
import fcntl  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import torch_env  # noqa: E402

STAGES = ["data", "vae", "latents", "decoder", "text", "unet", "export", "lora"]


class Log:
    def __init__(self, path):
        self.f = open(path, "a")

    def __call__(self, s):
        print(s, flush=True)
        self.f.write(s + "\n")
        self.f.flush()


def record(work, stage, clock, extra=None):
    """Adds the stage's times to work/times.json (locked: the text and decoder
    stages may run in a second process)."""
    path = os.path.join(work, "times.json")
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        d = json.load(open(path)) if os.path.exists(path) else {}
        d[stage] = {"wall_min": round(clock.wall() / 60, 2), "cpu_min": round(clock.cpu() / 60, 2)}
        d[stage].update(extra or {})
        with open(path + ".tmp", "w") as f:
            json.dump(d, f, indent=1)
        os.replace(path + ".tmp", path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", default="/tmp/skingen_demo")
    p.add_argument("--out", default=os.path.join(torch_env.ROOT, "models", "demo"))
    p.add_argument("--stage", default="all", choices=["all"] + STAGES)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--vae-steps", type=int, default=1000, help="length of the VAE's lr schedule")
    p.add_argument("--vae-stop", type=int, default=1000, help="VAE step where training stops")
    p.add_argument("--text-steps", type=int, default=500)
    p.add_argument("--unet-steps", type=int, default=3000)
    p.add_argument("--decoder-steps", type=int, default=2000)
    p.add_argument("--lora-epochs", type=int, default=4)
    p.add_argument("--latent-images", type=int, default=12000,
                   help="images encoded for the diffusion stages (the first N: classes cycle, so balanced)")
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    blas = torch_env.setup(a.threads)
    log = Log(os.path.join(a.work, "train.log"))
    log("BLAS: %s; threads %d; OMP_WAIT_POLICY=%s" % (blas, a.threads, os.environ.get("OMP_WAIT_POLICY")))
    stages = list(STAGES) if a.stage == "all" else [a.stage]
    beside = {}   # stage -> its process, with --stage all

    def start_beside(stage):
        cmd = [sys.executable, os.path.abspath(__file__), "--work", a.work, "--out", a.out, "--stage", stage,
               "--threads", str(a.threads), "--decoder-steps", str(a.decoder_steps),
               "--text-steps", str(a.text_steps), "--latent-images", str(a.latent_images)]
        log("%s: running beside the next stages: %s" % (stage, " ".join(cmd)))
        beside[stage] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        stages.remove(stage)

    def wait_beside(stage):
        proc = beside.pop(stage, None)
        if proc is not None:
            if proc.wait() != 0:
                sys.exit("%s stage failed (exit %d): see %s" % (stage, proc.returncode,
                                                               os.path.join(a.work, "train.log")))
            log("%s: done" % stage)

    import numpy as np
    import torch
    import data
    import demo_models as dm

    def need(path, what):
        if not os.path.exists(path):
            sys.exit("missing %s (%s): run the earlier stages first" % (path, what))

    vae_path = os.path.join(a.work, "vae_folded.pt")
    lat_path = os.path.join(a.work, "latents.pt")
    base_path = os.path.join(a.work, "base_ema.pt")
    ckpt_path = os.path.join(a.out, "skingen-demo.safetensors")

    if "data" in stages:
        clock = torch_env.Clock()
        imgs, labels, caps = data.load(os.path.join(a.work, "cache"))
        log("data: %d textures %s, %s" % (len(imgs), imgs.shape[1:], clock))
        record(a.work, "data", clock)
    imgs, labels, caps = data.load(os.path.join(a.work, "cache"))
    labels, caps = np.asarray(labels)[:a.latent_images], caps[:a.latent_images]   # what the latents cover

    if a.stage == "all":
        start_beside("text")

    if "vae" in stages:
        import vae_stage
        clock = torch_env.Clock()
        vae = vae_stage.train(imgs, a.work, steps=a.vae_steps, stop=a.vae_stop, log=log)
        acc, cm, _, _ = vae_stage.gate(vae, log=log)
        torch.save(vae.state_dict(), os.path.join(a.work, "vae_unfolded.pt"))
        record(a.work, "vae", clock, {"gate_accuracy": acc, "steps": a.vae_steps})
        if acc < 0.9:
            log("vae gate FAILED (%.1f%% < 90%%)" % (100 * acc))

    if "latents" in stages:
        import diffusion_stage as ds
        clock = torch_env.Clock()
        need(os.path.join(a.work, "vae_unfolded.pt"), "vae stage")
        vae = dm.make_vae()
        vae.load_state_dict(torch.load(os.path.join(a.work, "vae_unfolded.pt")))
        vae.eval()
        mean, std = ds.encode_moments(vae, imgs[:a.latent_images])
        sigma = float(mean.std())
        c = ds.fold_scale(vae, sigma)
        # folding is linear in the posterior: mean rows x c, logvar + 2 ln c -> std x c
        mean, std = mean * c, std * c
        s = float((mean * dm.SCALE_FACTOR).std())
        log("latents: sigma %.4f -> c %.4f; std(latent x 0.18215) = %.4f over %d images; %s" %
            (sigma, c, s, len(mean), clock))
        torch.save(vae.state_dict(), vae_path)
        torch.save({"mean": mean, "std": std}, lat_path)
        record(a.work, "latents", clock, {"sigma": sigma, "fold_c": c, "scaled_std": s})

    dec_path = os.path.join(a.work, "vae_decoder_ft.pt")
    if a.stage == "all":
        wait_beside("text")          # both processes use the cores from here on
        start_beside("decoder")
    if "decoder" in stages:
        import decoder_stage
        clock = torch_env.Clock()
        need(lat_path, "latents stage")
        vae = dm.make_vae()
        vae.load_state_dict(torch.load(vae_path))
        lat = torch.load(lat_path)
        vae = decoder_stage.train(vae, imgs[:len(lat["mean"])], lat["mean"], lat["std"], a.work,
                                  steps=a.decoder_steps, log=log)
        torch.save(vae.state_dict(), dec_path)
        record(a.work, "decoder", clock, {"steps": a.decoder_steps})

    te_path = os.path.join(a.work, "text_encoder.pt")
    if "text" in stages:
        import text_stage
        from classes import NAMES
        clock = torch_env.Clock()
        pid = data.PromptIds()
        feats = text_stage.image_features(imgs[:a.latent_images])
        log("text: %d feature vectors of %d, %s" % (feats.shape[0], feats.shape[1], clock))
        te = text_stage.train(pid.batch(caps), labels, feats, pid(""), len(NAMES), steps=a.text_steps, log=log)
        prompts = torch.as_tensor(pid.batch(list(data.class_prompts().values())))
        sep = text_stage.separation(te, prompts)
        log("text: class prompts differ by %.1f %% (relative L2, mean over pairs); %s" % (100 * sep, clock))
        torch.save(te.state_dict(), te_path)
        record(a.work, "text", clock, {"steps": a.text_steps, "class_prompt_separation": sep})

    if "unet" in stages:
        import diffusion_stage as ds
        clock = torch_env.Clock()
        need(lat_path, "latents stage")
        need(te_path, "text stage")
        lat = torch.load(lat_path)
        pid = data.PromptIds()
        ids = pid.batch(caps[:len(lat["mean"])])
        te = dm.make_text_encoder()
        te.load_state_dict(torch.load(te_path))
        unet = ds.train(lat["mean"], lat["std"], ids, pid(""), te, a.work, steps=a.unet_steps, log=log)
        torch.save({"unet": unet.state_dict(), "te": te.state_dict()}, base_path)
        record(a.work, "unet", clock, {"steps": a.unet_steps})

    wait_beside("decoder")

    if "export" in stages:
        import export
        need(base_path, "unet stage")
        need(vae_path, "latents stage")
        unet, te, vae = dm.make_unet(), dm.make_text_encoder(), dm.make_vae()
        b = torch.load(base_path)
        unet.load_state_dict(b["unet"])
        te.load_state_dict(b["te"])
        vae.load_state_dict(torch.load(dec_path if os.path.exists(dec_path) else vae_path))
        os.makedirs(a.out, exist_ok=True)
        export.write_checkpoint(ckpt_path, unet, vae, te)
        export.copy_tokenizer(os.path.join(a.out, "tokenizer"))
        log("export: %s (%d bytes)" % (ckpt_path, os.path.getsize(ckpt_path)))

    if "lora" in stages:
        import export
        import lora_stage
        clock = torch_env.Clock()
        need(ckpt_path, "export stage")
        need(lat_path, "latents stage")
        unet, vae, te = export.read_checkpoint(ckpt_path)      # the shipped F16 values
        lat = torch.load(lat_path)
        net, info = lora_stage.train(unet, te, lat["mean"], lat["std"], labels, caps, data.PromptIds(),
                                     a.work, epochs=a.lora_epochs, log=log)
        info["seed"] = 3
        info["started_at"] = time.time() - clock.wall()   # this process's start: a resumed run restarts it
        path = export.write_lora(a.out, net.kohya_state_dict(), info, ckpt_path)
        log("lora: %s (%d bytes), %d modules; %s" % (path, os.path.getsize(path), len(net.loras), clock))
        record(a.work, "lora", clock, info)


if __name__ == "__main__":
    main()
