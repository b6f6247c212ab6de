#pragma once
// What a diffusion model outputs: the noise ε (SD 1.x, SD 2.x base) or the
// velocity v (SD 2.x 768-v models; k-diffusion CompVisVDenoiser).
namespace skingen::engine {

enum class Prediction { Epsilon, V };

}  // namespace skingen::engine
