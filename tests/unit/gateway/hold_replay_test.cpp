// The hold fuzz target (tests/fuzz/hold_fuzz.cpp) in the ordinary build: its
// committed corpus replayed, then inputs from a fixed-seed generator, so that
// its invariants (no byte before the verdict, the release exactly the held
// bytes once in order, nothing but the inspected bytes while unacknowledged)
// are checked by every test run, not only by the clang fuzz build. A violation
// aborts the process: the test fails.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include <gtest/gtest.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size);

namespace {

TEST(hold_replay, the_committed_corpus) {
    const char* root = std::getenv("EGRESS_SOURCE_ROOT");
    ASSERT_NE(root, nullptr) << "run through meson test (EGRESS_SOURCE_ROOT)";
    std::size_t inputs = 0;
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(root) / "tests/fuzz/corpus/hold")) {
        std::ifstream in(e.path(), std::ios::binary);
        const std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_EQ(LLVMFuzzerTestOneInput(data.data(), data.size()), 0) << e.path();
        ++inputs;
    }
    EXPECT_GE(inputs, 5u);
}

// Steps biased towards what matters: pieces of the stream (unchanged or with
// a byte changed), server acknowledgements, the resolver's answers and the
// worker's loop, every stream kind.
TEST(hold_replay, generated_sequences) {
    std::mt19937 rng(14);
    for (int n = 0; n < 300; ++n) {
        std::vector<uint8_t> data{static_cast<uint8_t>(n % 6)};
        const int steps = 1 + static_cast<int>(rng() % 120);
        for (int i = 0; i < steps; ++i) {
            const uint8_t op = static_cast<uint8_t>(rng() % 10 < 6 ? 0 : rng() % 7);
            const uint32_t offset = rng() % 400;
            data.insert(data.end(), {op, static_cast<uint8_t>(offset >> 8), static_cast<uint8_t>(offset),
                                     static_cast<uint8_t>(rng() % 24)});
        }
        ASSERT_EQ(LLVMFuzzerTestOneInput(data.data(), data.size()), 0) << "input " << n;
    }
}

} // namespace
