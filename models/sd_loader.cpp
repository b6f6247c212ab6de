#include "models/sd_loader.hpp"

#include <chrono>

#include "engine/tokenizer_resolve.hpp"

namespace skingen::models {

SdComponents load_sd(ops::Context& ctx, const SdLoadOptions& o, SdLoadTimes* times) {
  SdLoadTimes t;
  const auto store = engine::TensorStore::open(o.model);
  UNetLoadOptions unet_options = o.unet;
  unet_options.patcher = o.patcher;
  LoadedUNet unet = load_unet(ctx, store, unet_options);
  t.unet = unet.seconds;

  std::optional<LoadedTextEncoder> te;
  std::optional<engine::ClipTokenizer> tokenizer;
  if (o.text_encoder) {
    te = load_text_encoder(ctx, store, o.patcher, o.text_encoder_config);
    t.text_encoder = te->seconds;
    const auto t0 = std::chrono::steady_clock::now();
    tokenizer = engine::load_tokenizer(engine::resolve_tokenizer(o.tokenizer, o.model));
    // SD 2.x's OpenCLIP pads with id 0 ("!"), A1111 sd_hijack_open_clip.py, unless the folder names its pad.
    if (te->detection.layout == TextEncoderLayout::OpenClip && tokenizer->pad_id() == tokenizer->eos_id())
      tokenizer->set_pad_id(0);
    t.tokenizer = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  std::optional<engine::TensorStore> vae_store;
  if (o.vae) vae_store = engine::TensorStore::open(*o.vae);
  LoadedVae vae = load_vae(ctx, vae_store ? *vae_store : store, o.vae_encoder, true);
  t.vae = vae.seconds;
  if (times) *times = t;
  return SdComponents{std::move(unet), std::move(te), std::move(vae), std::move(tokenizer)};
}

}  // namespace skingen::models
