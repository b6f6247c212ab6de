"""The upstream code the oracle goldens run, by repository and commit.

Nothing here is committed upstream code: each generator calls `load(name)`,
which extracts the listed paths of one commit from a local git mirror into
/tmp/skingen-upstream/<name>-<commit>/ (never into the repository) and puts
that folder, and the stand-ins in stubs/, at the front of sys.path.

The mirrors are bare git directories, by default under /work/.mirror/
(`owner+name/repo`), as the search tool's `fetch github:OWNER/NAME` leaves
them; SKINGEN_MIRROR points elsewhere. tests/reference/README.md lists the
fetch commands.

Where a package's own __init__.py would import half of its dependency tree
(k_diffusion, lycoris, ldm), only the modules we run are extracted and the
folder is imported as a namespace package; where it is needed for relative
imports, a stand-in __init__ from overlay/ is copied over it
(transformers).
"""
import glob
import os
import shutil
import subprocess
import sys
import tarfile
import io

HERE = os.path.dirname(os.path.abspath(__file__))
STUBS = os.path.join(HERE, "stubs")
OVERLAY = os.path.join(HERE, "overlay")
CACHE = "/tmp/skingen-upstream"

# name: repository, tag or note, full commit, paths to extract, import root inside the extraction.
SOURCES = {
    "diffusers": dict(
        repo="huggingface/diffusers", version="v0.27.2",
        commit="b69fd990ad8026f21893499ab396d969b62bb8cc",
        paths=["src/diffusers"], root="src"),
    "k-diffusion": dict(
        repo="crowsonkb/k-diffusion", version="v0.1.1.post1",
        commit="0c6cc822e050e59d3e59128c57d350074969b267",
        paths=["k_diffusion/sampling.py", "k_diffusion/external.py", "k_diffusion/utils.py"], root=""),
    "lycoris": dict(
        repo="KohakuBlueleaf/LyCORIS", version="3.2.0.post2 (main, 2025-10-04; the repository has no tags)",
        commit="f49d30d670591ec8841d241d79aaa8449b30a715",
        paths=["lycoris/functional", "lycoris/modules/locon.py", "lycoris/modules/base.py",
               "lycoris/utils/quant.py", "lycoris/logging.py"], root=""),
    "open_clip": dict(
        repo="mlfoundations/open_clip", version="v2.7.0 (the version Stability-AI/stablediffusion pins)",
        commit="ea7718f927b84e1b46ce057d3eae5ca4c9c41434",
        paths=["src/open_clip"], root="src"),
    "stablediffusion": dict(
        repo="Stability-AI/stablediffusion", version="main (SD 2.x reference code, 2023-03-25)",
        commit="cf1d67a6fd5ea1aa600c4df58e5b47da45f6bdbf",
        paths=["ldm/util.py", "ldm/modules/encoders/modules.py", "ldm/modules/attention.py",
               "ldm/modules/diffusionmodules/upscaling.py", "ldm/modules/diffusionmodules/util.py",
               "ldm/modules/diffusionmodules/openaimodel.py"], root=""),
    # huggingface/transformers itself is over the mirror's size limit; this
    # repository vendors transformers 4.19.0.dev0 unchanged since its import
    # (`git log -- transformers/models/clip` shows only the import commit).
    # Stability-AI/stablediffusion pins transformers 4.19.2.
    "transformers": dict(
        repo="YuanWind/transformers_wind", version="transformers 4.19.0.dev0, vendored",
        commit="022d07a4b1f35916f3cb63771c68d48ee4d90899",
        paths=["transformers/activations.py", "transformers/modeling_outputs.py",
               "transformers/models/clip/configuration_clip.py", "transformers/models/clip/modeling_clip.py"],
        root="", overlay="transformers"),
}


def git_dir(repo):
    base = os.environ.get("SKINGEN_MIRROR", "/work/.mirror")
    for cand in (os.path.join(base, repo.replace("/", "+"), "repo", ".git"),
                 os.path.join(base, repo.replace("/", "+"), "repo")):
        if os.path.isfile(os.path.join(cand, "HEAD")):
            return cand
    raise SystemExit(f"no git mirror of {repo} under {base}: fetch it first (fetch github:{repo}), "
                     f"or set SKINGEN_MIRROR")


def describe(name):
    s = SOURCES[name]
    return f"{s['repo']} {s['version']} @ {s['commit']}"


def extract(name):
    s = SOURCES[name]
    dest = os.path.join(CACHE, f"{name}-{s['commit'][:12]}")
    if not os.path.isdir(dest):
        gd = git_dir(s["repo"])
        tar = subprocess.run(["git", f"--git-dir={gd}", "archive", "--format=tar", s["commit"], *s["paths"]],
                             check=True, capture_output=True).stdout
        tmp = dest + ".part"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
            tf.extractall(tmp)
        if s.get("overlay"):
            for src in glob.glob(os.path.join(OVERLAY, s["overlay"], "**", "*.py"), recursive=True):
                rel = os.path.relpath(src, OVERLAY)
                os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
                shutil.copyfile(src, os.path.join(tmp, rel))
        os.rename(tmp, dest)
    return os.path.join(dest, s["root"])


def load(*names):
    """Extract each source and put it (after the stand-ins) on sys.path."""
    roots = [extract(n) for n in names]
    for p in [STUBS] + roots:
        if p in sys.path:
            sys.path.remove(p)
    sys.path[:0] = [STUBS] + roots
    return {n: describe(n) for n in names}
