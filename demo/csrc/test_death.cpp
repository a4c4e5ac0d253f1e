// A death test, and a test that skips itself, as in PyTorch's C++ suites.
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

static int checked_at(const std::vector<int>& v, size_t i) {
  if (i >= v.size()) {
    std::abort();
  }
  return v[i];
}

TEST(BoundsCheckDeathTest, AbortsOutOfRange) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<int> v{1, 2, 3};
  EXPECT_EQ(checked_at(v, 2), 3);
  EXPECT_DEATH(checked_at(v, 3), "");
}

TEST(NeedsCuda, SkipsWithoutDevice) {
  if (std::getenv("CUDA_VISIBLE_DEVICES") == nullptr) {
    GTEST_SKIP() << "no CUDA device visible";
  }
  SUCCEED();
}
