// A typed suite, a value-parameterised suite and a plain one, as PyTorch's C++ tests
// have them: one case per suite for the harness.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

template <typename T>
class SaturatingAdd : public ::testing::Test {};

using Types = ::testing::Types<int8_t, int32_t, int64_t>;
TYPED_TEST_SUITE(SaturatingAdd, Types);

template <typename T>
T saturating_add(T a, T b) {
  if (b > 0 && a > std::numeric_limits<T>::max() - b) return std::numeric_limits<T>::max();
  if (b < 0 && a < std::numeric_limits<T>::min() - b) return std::numeric_limits<T>::min();
  return static_cast<T>(a + b);
}

TYPED_TEST(SaturatingAdd, ClampsAtTheTop) {
  TypeParam top = std::numeric_limits<TypeParam>::max();
  EXPECT_EQ(saturating_add<TypeParam>(top, 1), top);
}

TYPED_TEST(SaturatingAdd, AddsInRange) {
  EXPECT_EQ(saturating_add<TypeParam>(2, 3), TypeParam(5));
}

class PrefixSum : public ::testing::TestWithParam<int> {};

TEST_P(PrefixSum, LastElementIsTheTotal) {
  int n = GetParam();
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 1);
  std::partial_sum(v.begin(), v.end(), v.begin());
  EXPECT_EQ(v.back(), n * (n + 1) / 2);
}

INSTANTIATE_TEST_SUITE_P(Sizes, PrefixSum, ::testing::Values(1, 10, 1000));

TEST(HalfPrecision, RoundTripsSmallIntegers) {
  for (int i = -2048; i <= 2048; ++i) {
    float f = static_cast<float>(i);
    EXPECT_EQ(static_cast<int>(f), i);
  }
}
