// Validate a request and render it into a folder, with the appforge C++ library.
// usage: render_request REQUEST OUT_DIR [PROFILE]
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <appforge/engine.hpp>

static std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

int main(int argc, char** argv) {
    if (argc != 3 && argc != 4) {
        std::cerr << "usage: render_request REQUEST OUT_DIR [PROFILE]\n";
        return 2;
    }
    appforge::EngineOptions options;
    if (argc == 4) options.profile_text = read_file(argv[3]);
    auto engine = appforge::Engine::create(options);
    if (!engine.ok()) {
        for (const auto& d : engine.diagnostics) std::cerr << d.path << ": " << d.message << "\n";
        return 2;
    }

    // Validate, render and verify in one call; every diagnostic names its field.
    auto result = (*engine.value)->render_text(read_file(argv[1]));
    for (const auto& d : result.diagnostics)
        std::cerr << argv[1] << ": " << (d.path.empty() ? "/" : d.path) << ": " << d.message << " [" << d.code
                  << "]\n";
    if (!result.ok()) return 1;

    std::filesystem::path out(argv[2]);
    std::filesystem::create_directories(out);
    for (const auto& file : result.value->files) {
        std::ofstream(out / file.path, std::ios::binary) << file.text;
        std::cout << (out / file.path).string() << " (" << file.text.size() << " bytes)\n";
    }
    return 0;
}
