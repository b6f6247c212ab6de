#pragma once
// OpenMP threads that spin for long while they wait are a disaster on a shared
// or oversubscribed machine (ctest -j, a batch next to other work): with 6
// busy processes on the 2-core machine, a tiny-model generate took 3.0 s wall
// with libgomp's default (spin 300,000 iterations, then sleep), 1.0 s with a
// spin of 1,000 and 0.9-1.8 s fully passive (an earlier run at load 11: 46 s
// default, 2 s passive). Fully passive waits, though, make every parallel
// region pay a futex wake-up: on an idle machine the small group norms of
// `bench ops` fell from >= 54 % of triad bandwidth (spinning) to 18 %, while a
// spin of 1,000 kept them at 46-56 %. So the default here is a short spin.
// libgomp reads these variables once, when it is loaded, before main() runs:
// the only way to change the default is to run the program again with it set.
namespace skingen::cli {

// When neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set: sets
// GOMP_SPINCOUNT=1000 and re-executes the binary with the same arguments (does
// not return on success). A user who sets either keeps full control.
void ensure_short_omp_spin(char** argv);

}  // namespace skingen::cli
