#pragma once
// OpenMP threads that spin while they wait are a disaster on a shared or
// oversubscribed machine (ctest -j, a batch next to other work): measured on
// the 2-core CI machine at load 11, a tiny-model generate took 46 s wall with
// libgomp's default spinning and 2 s with OMP_WAIT_POLICY=passive; on the
// full-size UNet the futex wake-ups of the passive policy cost well under 1 %
// (a few thousand parallel regions per step against seconds of work).
// libgomp reads the policy once, when it is loaded, before main() runs, so the
// only way to change the default is to run the program again with it set.
namespace skingen::cli {

// When OMP_WAIT_POLICY is unset: sets it to passive and re-executes the
// binary with the same arguments (does not return on success). A user who
// sets OMP_WAIT_POLICY keeps full control.
void ensure_passive_omp_wait(char** argv);

}  // namespace skingen::cli
