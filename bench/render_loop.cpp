// The C++ side of bench/python_render.py: renders one request file N times in a plain loop and
// prints the CPU time per render (render_text + stream), measured the way the Python side
// measures itself, so the two differ only in the language boundary.
// Usage: appforge_render_loop FILE N
#include <ctime>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "appforge/engine.hpp"

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: appforge_render_loop FILE N\n";
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    auto engine = appforge::Engine::create();
    if (!engine.ok()) return 1;
    const auto& e = *engine.value;
    if (!e->render_text(text).ok()) {
        std::cerr << argv[1] << ": does not render\n";
        return 1;
    }
    const long n = std::atol(argv[2]);
    // The Python side runs in a process that has rendered before: warm up the same way.
    for (long i = 0; i < n / 4; ++i) e->render_text(text).value->stream();
    std::size_t bytes = 0;
    const std::clock_t t0 = std::clock();
    for (long i = 0; i < n; ++i) {
        auto r = e->render_text(text);
        bytes += r.value->stream().size();
    }
    const double us = 1e6 * static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC / static_cast<double>(n);
    std::cout << us << " " << bytes << "\n";
    return 0;
}
