#include "tools/cli/lora_setup.hpp"

#include "models/unet_loader.hpp"
#include "tools/cli/lora_options.hpp"

namespace skingen::cli {
namespace {

class PatcherSetup : public LoraSetup {
 public:
  explicit PatcherSetup(std::unique_ptr<engine::LoraPatcher> p) : p_(std::move(p)) {}
  engine::WeightPatcher* patcher() override { return p_.get(); }
  std::vector<std::string> report() const override { return p_->report(); }

 private:
  std::unique_ptr<engine::LoraPatcher> p_;
};

}  // namespace

std::unique_ptr<LoraSetup> make_lora_setup(ops::Context& ctx, const std::string& model,
                                           const std::vector<LoraSpec>& loras, bool text_encoder_loaded, bool strict,
                                           bool verbose) {
  if (loras.empty()) return nullptr;
  // The checkpoint's headers only (the loader opens it again): the real keys to resolve against.
  const auto store = engine::TensorStore::open(model);
  const auto unet = models::detect_unet(store);
  return std::make_unique<PatcherSetup>(make_lora_patcher(
      ctx, store, &unet, loras, {.unet = true, .text_encoder = text_encoder_loaded}, strict, verbose));
}

}  // namespace skingen::cli
