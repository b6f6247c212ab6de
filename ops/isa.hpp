#pragma once
// Which instruction set our own kernels use. Auto picks AVX-512 where the CPU
// has it; tests force each path (Avx512 on a CPU without it falls back to
// Avx2), so both stay proven on a machine that has both.
namespace skingen::ops {

enum class Isa { Auto, Avx2, Avx512 };

// AVX-512F/VL/DQ, what our AVX-512 kernels are compiled for.
bool cpu_has_avx512();

// Whether a kernel asked for with `isa` runs its AVX-512 version here.
inline bool use_avx512(Isa isa) { return isa != Isa::Avx2 && cpu_has_avx512(); }

}  // namespace skingen::ops
