#pragma once
// Which instruction set our own kernels use. Auto picks AVX-512 where the CPU
// has it and SKINGEN_MAX_ISA allows it; tests ask for each path by name, and
// an AVX-512 request where AVX-512 cannot run falls back to AVX2.
namespace skingen::ops {

enum class Isa { Auto, Avx2, Avx512 };

// AVX-512F/VL/DQ, what our AVX-512 kernels are compiled for.
bool cpu_has_avx512();

// The widest instruction set our kernels may use, read from the environment
// variable SKINGEN_MAX_ISA: "avx2" or "avx512" (any case); unset or empty
// means no cap (Avx512). It caps our kernels only, as ONEDNN_MAX_CPU_ISA caps
// oneDNN's primitives: set both to run an AVX2 machine's code on an AVX-512
// one. Any other value throws std::invalid_argument naming the variable.
Isa max_isa();
// The rule max_isa() applies to the variable's value (nullptr: unset).
Isa parse_max_isa(const char* value);

// Whether a kernel asked for with `isa` runs its AVX-512 version here.
inline bool use_avx512(Isa isa) { return isa != Isa::Avx2 && max_isa() == Isa::Avx512 && cpu_has_avx512(); }

}  // namespace skingen::ops
