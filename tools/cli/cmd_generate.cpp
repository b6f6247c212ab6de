// skingen generate: a prompt and a seed in, PNG textures out.
#include <cstdio>

#include "tools/cli/commands.hpp"
#include "tools/cli/common_options.hpp"
#include "tools/cli/interrupt.hpp"
#include "tools/cli/job.hpp"
#include "tools/cli/progress.hpp"

namespace skingen::cli {

void add_job_options(CLI::App* cmd, JobSpec& job, std::vector<std::string>& loras, std::string& size,
                     std::int64_t& seed) {
  cmd->add_option("--model", job.model, "Checkpoint: .safetensors file or diffusers folder (default: the demo model)");
  cmd->add_option("--prompt", job.prompt, "Prompt, with A1111 syntax: (word:1.3), [word], BREAK, <lora:NAME:W>");
  cmd->add_option("--negative", job.negative, "Negative prompt");
  cmd->add_option("--lora", loras, "LoRA FILE[:UNET_SCALE[:TE_SCALE]] (repeatable)");
  cmd->add_option("--lora-dir", job.lora_dir, "Folder where <lora:NAME:W> prompt tags find NAME.safetensors");
  cmd->add_flag("--lora-strict", job.lora_strict, "Fail when a LoRA key matches nothing in the model");
  cmd->add_option("--seed", seed, "Seed (-1: random; image i of a batch uses seed + i, see --batch-seeds)");
  cmd->add_option("--steps", job.steps, "Sampling steps");
  cmd->add_option("--cfg", job.cfg, "Classifier-free guidance scale");
  cmd->add_option("--cfg-interval", job.cfg_interval,
                  "LO,HI: guide only where the noise level sigma is in (LO, HI], the prompt alone elsewhere "
                  "(default: 0,inf; the demo model's 0,3.3)");
  cmd->add_option("--sampler", job.sampler, "euler, euler_a, heun, dpmpp_2m, ddim or lcm");
  cmd->add_option("--schedule", job.schedule, "normal, karras, exponential, leading, linspace or trailing");
  cmd->add_option("--size", size, "WxH in pixels, multiples of 8 (default: 512x512; the demo model's 64x64)");
  cmd->add_option("--tile", job.tile, "Seamless tiling: circular padding on none, x, y or xy");
  cmd->add_option("--batch", job.batch, "Images per run");
  cmd->add_option("--batch-seeds", job.batch_seeds,
                  "Noise of a batch: increment (image i from seed + i, as A1111) or stream (the whole batch as one "
                  "torch.randn([N,4,h,w]) after manual_seed(seed), as ComfyUI and diffusers; ancestral step noise "
                  "as ComfyUI on the CPU: its own generator seeded with seed + 1; needs --rng cpu)");
  cmd->add_option("--clip-skip", job.clip_skip, "Use the text encoder's hidden state N-1 layers before the last (0: model default)");
  cmd->add_option("--rng", job.rng, "Noise: cpu (torch.randn on CPU, ComfyUI / A1111 CPU seeds) or philox (A1111 GPU seeds)");
  cmd->add_option("--vae", job.vae, "VAE file replacing the checkpoint's");
  cmd->add_option("--tokenizer", job.tokenizer, "Tokenizer folder or merges file (default: next to the model)");
  cmd->add_option("--init-image", job.init_image, "img2img: a PNG of the output size to start from");
  cmd->add_option("--strength", job.strength, "img2img: how much of the init image is replaced (0..1)");
  cmd->add_option("--unet-config", job.unet_config, "UNet config override (diffusers config.json fields, file or JSON)");
  cmd->add_option("--text-encoder-config", job.text_encoder_config, "Text encoder config override (file or JSON)");
  cmd->add_option("--prediction", job.prediction, "Model output type: eps or v (default: detected)");
  cmd->add_option("--init-latent", job.init_latent, "Test hook: safetensors with `latent` [1,4,h,w] unit-variance noise");
  cmd->add_option("--embeddings", job.embeddings, "Test hook: safetensors with `cond`, `uncond` [1,77,D]");
  cmd->add_option("--save-latent", job.save_latent, "Test hook: write the final latent (tensor `latent`) here");
}

void finish_job_options(JobSpec& job, const std::vector<std::string>& loras, const std::string& size,
                        std::int64_t seed) {
  for (const auto& l : loras) job.loras.push_back(parse_lora_spec(l));
  if (!size.empty()) parse_size(size, job.width, job.height);
  if (seed >= 0) job.seed = static_cast<std::uint64_t>(seed);
}

void register_generate(CLI::App& app) {
  struct Options {
    JobSpec job;
    std::vector<std::string> loras;
    std::string size;
    std::int64_t seed = -1;
    int threads = 0;
    bool quiet = false, verbose = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("generate", "Generate PNG textures from a prompt");
  add_job_options(cmd, o->job, o->loras, o->size, o->seed);
  cmd->add_option("--out", o->job.out, "Output PNG; {seed} and {i} are replaced")->required();
  add_threads_option(cmd, o->threads);
  cmd->add_flag("--quiet", o->quiet, "No progress or report lines on stderr");
  cmd->add_flag("--verbose", o->verbose, "List every unmatched LoRA key");
  cmd->callback([o] {
    JobSpec job = o->job;
    finish_job_options(job, o->loras, o->size, o->seed);
    ops::Context ctx(o->threads);
    const JobLog log = stderr_job_log(o->quiet, o->verbose);
    Progress progress("sampling", o->quiet);
    engine::SamplerHooks hooks;
    hooks.cancel = install_interrupt_handler();
    hooks.progress = [&](int done, int total) { progress.update(done, total); };
    ModelCache cache;
    const auto r = run_job(ctx, cache, job, hooks, log);
    progress.finish();
    log.info("text " + std::to_string(r.times.text).substr(0, 5) + " s, sampling " +
             std::to_string(r.times.sampling).substr(0, 6) + " s (" + std::to_string(r.times.model_calls) +
             " UNet calls), VAE " + std::to_string(r.times.vae).substr(0, 5) + " s");
    for (const auto& p : r.written) std::printf("%s\n", p.c_str());
  });
}

}  // namespace skingen::cli
